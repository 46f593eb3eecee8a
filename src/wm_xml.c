/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Safe XML parsing (see wm_xml.h for the rules) and DOM helpers. The SAX2
 * handlers of each parser context are wrapped so that the limits are
 * enforced while parsing, before any memory is spent on what they refuse. */

#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/globals.h>
#include <libxml/xmlerror.h>

#include "wm_xml.h"

typedef struct {
    const wm_xml_limits_t *lim;
    int depth;
    const char *refused; /* why the parser was stopped by a limit */
    char first_error[160];
} parse_state_t;

/* libxml2 reports some errors (encoding conversion, for one) outside the
 * parser context, through its process-wide handlers: silenced, so hostile
 * input cannot write to httpd's error log. */
static void silent_generic(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

static void silent_structured(void *ctx, xmlErrorPtr err)
{
    (void)ctx, (void)err;
}

void wm_xml_init(void)
{
    xmlInitParser();
    /* The defaults of threads made later, and this thread's own. */
    xmlThrDefSetGenericErrorFunc(NULL, silent_generic);
    xmlThrDefSetStructuredErrorFunc(NULL, silent_structured);
    xmlSetGenericErrorFunc(NULL, silent_generic);
    xmlSetStructuredErrorFunc(NULL, silent_structured);
}

static apr_status_t doc_cleanup(void *data)
{
    xmlFreeDoc((xmlDocPtr)data);
    return APR_SUCCESS;
}

static parse_state_t *state_of(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;
    return ctxt->_private;
}

static void refuse(void *ctx, const char *why)
{
    parse_state_t *st = state_of(ctx);
    if (!st->refused) {
        st->refused = why;
    }
    xmlStopParser((xmlParserCtxtPtr)ctx);
}

static void sax_internal_subset(void *ctx, const xmlChar *name,
                                const xmlChar *ext_id, const xmlChar *sys_id)
{
    if (!state_of(ctx)->lim->allow_doctype) {
        refuse(ctx, "a DOCTYPE is not allowed");
        return;
    }
    xmlSAX2InternalSubset(ctx, name, ext_id, sys_id);
}

/* Any entity declaration is refused: with none, there is nothing to expand
 * (billion laughs) and nothing external to fetch (XXE). */
static void sax_entity_decl(void *ctx, const xmlChar *name, int type,
                            const xmlChar *public_id, const xmlChar *system_id,
                            xmlChar *content)
{
    (void)name, (void)type, (void)public_id, (void)system_id, (void)content;
    refuse(ctx, "entity declarations are not allowed");
}

static void sax_start(void *ctx, const xmlChar *localname,
                      const xmlChar *prefix, const xmlChar *uri,
                      int nb_namespaces, const xmlChar **namespaces,
                      int nb_attributes, int nb_defaulted,
                      const xmlChar **attributes)
{
    parse_state_t *st = state_of(ctx);
    if (++st->depth > st->lim->max_depth) {
        refuse(ctx, "elements nested too deeply");
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces,
                          namespaces, nb_attributes, nb_defaulted, attributes);
}

static void sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                    const xmlChar *uri)
{
    state_of(ctx)->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* Keeps the first parser error for the caller; nothing goes to stderr. */
static void sax_serror(void *ctx, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state_t *st;
    size_t n;

    if (!ctxt || !(st = ctxt->_private) || st->first_error[0] || !err ||
        !err->message) {
        return;
    }
    apr_cpystrn(st->first_error, err->message, sizeof(st->first_error));
    n = strlen(st->first_error);
    while (n > 0 && (st->first_error[n - 1] == '\n')) {
        st->first_error[--n] = '\0';
    }
}

apr_status_t wm_xml_parse(xmlDocPtr *pdoc, const char *buf, apr_size_t len,
                          const wm_xml_limits_t *lim, const char **perr,
                          apr_pool_t *p)
{
    xmlParserCtxtPtr ctxt;
    parse_state_t st;
    xmlDocPtr doc;
    int ok;

    *pdoc = NULL;
    if (perr) {
        *perr = NULL;
    }
    if (len > lim->max_size || len > INT_MAX) {
        if (perr) {
            *perr = "document too large";
        }
        return APR_ENOSPC;
    }
    if (len == 0) {
        if (perr) {
            *perr = "empty document";
        }
        return APR_EINVAL;
    }
    ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
    if (!ctxt) {
        return APR_ENOMEM;
    }
    memset(&st, 0, sizeof(st));
    st.lim = lim;
    ctxt->_private = &st;
    /* No NOENT (no substitution), no DTDLOAD/DTDATTR (nothing fetched or
     * defaulted), NONET as a second lock, and no error text on stderr. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING);
    ctxt->sax->internalSubset = sax_internal_subset;
    ctxt->sax->entityDecl = sax_entity_decl;
    ctxt->sax->startElementNs = sax_start;
    ctxt->sax->endElementNs = sax_end;
    ctxt->sax->serror = sax_serror;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->sax->fatalError = NULL;

    xmlParseDocument(ctxt);
    ok = ctxt->wellFormed && !st.refused && ctxt->myDoc;
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);

    if (!ok) {
        if (doc) {
            xmlFreeDoc(doc);
        }
        if (perr) {
            *perr =
                st.refused ? st.refused
                : st.first_error[0]
                    ? apr_pstrcat(p, "malformed XML: ", st.first_error, NULL)
                    : "malformed XML";
        }
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, doc, doc_cleanup, apr_pool_cleanup_null);
    *pdoc = doc;
    return APR_SUCCESS;
}

int wm_xml_is(const xmlNode *node, const char *ns, const char *name)
{
    if (!node || node->type != XML_ELEMENT_NODE) {
        return 0;
    }
    if (name && strcmp((const char *)node->name, name)) {
        return 0;
    }
    if (ns) {
        if (!node->ns || !node->ns->href ||
            strcmp((const char *)node->ns->href, ns)) {
            return 0;
        }
    }
    return 1;
}

xmlNodePtr wm_xml_next(const xmlNode *node, const char *ns, const char *name)
{
    xmlNodePtr n;
    for (n = node ? node->next : NULL; n; n = n->next) {
        if (wm_xml_is(n, ns, name)) {
            return n;
        }
    }
    return NULL;
}

xmlNodePtr wm_xml_child(const xmlNode *parent, const char *ns, const char *name)
{
    xmlNodePtr n;
    if (!parent) {
        return NULL;
    }
    for (n = parent->children; n; n = n->next) {
        if (wm_xml_is(n, ns, name)) {
            return n;
        }
    }
    return NULL;
}

static const char *trimmed_copy(const char *s, apr_pool_t *p)
{
    const char *e;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
        s++;
    }
    e = s + strlen(s);
    while (e > s &&
           (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) {
        e--;
    }
    return apr_pstrmemdup(p, s, (apr_size_t)(e - s));
}

const char *wm_xml_text(const xmlNode *node, apr_pool_t *p)
{
    xmlChar *c;
    const char *s;

    if (!node) {
        return NULL;
    }
    c = xmlNodeGetContent(node);
    s = trimmed_copy(c ? (const char *)c : "", p);
    xmlFree(c);
    return s;
}

const char *wm_xml_child_text(const xmlNode *parent, const char *ns,
                              const char *name, apr_pool_t *p)
{
    return wm_xml_text(wm_xml_child(parent, ns, name), p);
}

const char *wm_xml_attr(const xmlNode *node, const char *ns, const char *name,
                        apr_pool_t *p)
{
    xmlChar *v;
    const char *s;

    if (!node || node->type != XML_ELEMENT_NODE) {
        return NULL;
    }
    v = ns ? xmlGetNsProp(node, (const xmlChar *)name, (const xmlChar *)ns)
           : xmlGetNoNsProp(node, (const xmlChar *)name);
    if (!v) {
        return NULL;
    }
    s = apr_pstrdup(p, (const char *)v);
    xmlFree(v);
    return s;
}

const char *wm_xml_escape(const char *s, apr_pool_t *p)
{
    apr_size_t extra = 0;
    const char *c;
    char *out, *o;

    if (!s) {
        return "";
    }
    for (c = s; *c; c++) {
        switch (*c) {
        case '&':
            extra += 4;
            break;
        case '<':
        case '>':
            extra += 3;
            break;
        case '"':
        case '\'':
            extra += 5;
            break;
        default:
            break;
        }
    }
    if (!extra) {
        return s;
    }
    out = o = apr_palloc(p, strlen(s) + extra + 1);
    for (c = s; *c; c++) {
        switch (*c) {
        case '&':
            memcpy(o, "&amp;", 5), o += 5;
            break;
        case '<':
            memcpy(o, "&lt;", 4), o += 4;
            break;
        case '>':
            memcpy(o, "&gt;", 4), o += 4;
            break;
        case '"':
            memcpy(o, "&quot;", 6), o += 6;
            break;
        case '\'':
            memcpy(o, "&apos;", 6), o += 6;
            break;
        default:
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}
