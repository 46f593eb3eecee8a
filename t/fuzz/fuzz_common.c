/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Process set-up for the fuzz targets (see fuzz.h). */

#include <stdlib.h>

#include <apr_dbd.h>

#include "wm_xml.h"
#include "fuzz.h"

apr_pool_t *wm_fuzz_pool(void)
{
    static apr_pool_t *root;
    if (!root) {
        apr_initialize();
        atexit(apr_terminate);
        apr_pool_create(&root, NULL);
        wm_xml_init();
    }
    return root;
}
