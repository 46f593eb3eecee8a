/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Shared by the fuzz targets: each target is one LLVMFuzzerTestOneInput
 * over a parser fed by the network. Built with clang's libFuzzer by
 * `make fuzz`, and with t/fuzz/replay.c by `make test`, which runs every
 * file of the target's corpus (seeds and every crash ever found) once. */

#ifndef WM_FUZZ_H
#define WM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <apr_general.h>
#include <apr_pools.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** A process-wide root pool, APR and libxml2 set up on first use. */
apr_pool_t *wm_fuzz_pool(void);

#endif /* WM_FUZZ_H */
