/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Safe XML parsing and small DOM helpers on libxml2, shared by every parser
 * fed by the network (SOAP enrollment bodies, SyncML). DESIGN.md section 5:
 * no network access, no DTD loading, no entity expansion, limits on size
 * and depth. A document carrying an entity declaration is refused outright
 * (that is what XXE and "billion laughs" need); a DOCTYPE is refused unless
 * the caller allows one (SOAP 1.2 part 1 section 5 forbids it; SyncML
 * clients may name the OMA DTD, which is never loaded). */

#ifndef WM_XML_H
#define WM_XML_H

#include <apr_pools.h>
#include <libxml/tree.h>

/** Limits for one parse. */
typedef struct wm_xml_limits_t {
    apr_size_t max_size; /* bytes; larger input is refused unparsed */
    int max_depth;       /* element nesting */
    int allow_doctype;   /* a DOCTYPE without internal subset is allowed */
} wm_xml_limits_t;

/** Initialises libxml2 once per process (call before any thread parses). */
void wm_xml_init(void);

/**
 * Parses buf[0..len) into a DOM.
 * @param pdoc   receives the document, freed by a cleanup on pool p
 * @param perr   receives a short reason on failure (pool p), may be NULL
 * @return APR_SUCCESS, APR_ENOSPC when over max_size, APR_EINVAL when the
 *         body is not acceptable XML (malformed, DTD, entity, too deep)
 */
apr_status_t wm_xml_parse(xmlDocPtr *pdoc, const char *buf, apr_size_t len,
                          const wm_xml_limits_t *lim, const char **perr,
                          apr_pool_t *p);

/** True when node is an element named name in namespace ns (NULL: any). */
int wm_xml_is(const xmlNode *node, const char *ns, const char *name);

/** First element child of parent matching ns (NULL: any) and name (NULL:
 *  any); NULL when there is none or parent is NULL. */
xmlNodePtr wm_xml_child(const xmlNode *parent, const char *ns,
                        const char *name);

/** Next element sibling after node matching ns and name, as wm_xml_child. */
xmlNodePtr wm_xml_next(const xmlNode *node, const char *ns, const char *name);

/** Text content of node with surrounding white space trimmed, copied into
 *  p; NULL when node is NULL. */
const char *wm_xml_text(const xmlNode *node, apr_pool_t *p);

/** Text of the first child element matching ns/name, trimmed; NULL if
 *  there is no such child. */
const char *wm_xml_child_text(const xmlNode *parent, const char *ns,
                              const char *name, apr_pool_t *p);

/** Value of attribute name in namespace ns (NULL: no namespace), copied
 *  into p; NULL when absent. */
const char *wm_xml_attr(const xmlNode *node, const char *ns, const char *name,
                        apr_pool_t *p);

/** Escapes & < > " ' for element text and attribute values; returns s
 *  itself when nothing needs escaping, "" for NULL. */
const char *wm_xml_escape(const char *s, apr_pool_t *p);

#endif /* WM_XML_H */
