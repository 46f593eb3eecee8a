/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* SyncML 1.2 message parsing and reply building (see wm_syncml.h). */

#include <string.h>

#include <apr_strings.h>
#include <libxml/tree.h>

#include "wm_syncml.h"
#include "wm_xml.h"

/* -------------------------------------------------------------- parse */

/* Data as it stands: text, or the markup of its element children (a Data
 * holding XML, e.g. Format xml). Not trimmed: values are the device's. */
static const char *data_of(xmlNodePtr data, apr_pool_t *p)
{
    xmlNodePtr c;
    xmlBufferPtr buf;
    const char *out;
    xmlChar *text;

    if (!data) {
        return NULL;
    }
    for (c = data->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            break;
        }
    }
    if (!c) {
        text = xmlNodeGetContent(data);
        out = apr_pstrdup(p, text ? (const char *)text : "");
        xmlFree(text);
        return out;
    }
    buf = xmlBufferCreate();
    if (!buf) {
        return "";
    }
    for (c = data->children; c; c = c->next) {
        xmlNodeDump(buf, data->doc, c, 0, 0);
    }
    out = apr_pstrmemdup(p, (const char *)xmlBufferContent(buf),
                         (apr_size_t)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return out;
}

static wm_sml_item_t *parse_item(xmlNodePtr n, apr_pool_t *p)
{
    wm_sml_item_t *it = apr_pcalloc(p, sizeof(*it));
    xmlNodePtr meta = wm_xml_child(n, NULL, "Meta");

    it->target =
        wm_xml_child_text(wm_xml_child(n, NULL, "Target"), NULL, "LocURI", p);
    it->source =
        wm_xml_child_text(wm_xml_child(n, NULL, "Source"), NULL, "LocURI", p);
    it->meta_type = wm_xml_child_text(meta, NULL, "Type", p);
    it->meta_format = wm_xml_child_text(meta, NULL, "Format", p);
    it->data = data_of(wm_xml_child(n, NULL, "Data"), p);
    it->more_data = wm_xml_child(n, NULL, "MoreData") != NULL;
    return it;
}

static int is_container(const char *name)
{
    return !strcmp(name, "Atomic") || !strcmp(name, "Sequence");
}

static wm_sml_cmd_t *parse_cmd(xmlNodePtr n, int nest, const char **perr,
                               apr_pool_t *p)
{
    wm_sml_cmd_t *c = apr_pcalloc(p, sizeof(*c));
    xmlNodePtr k, meta;

    c->name = (const char *)n->name;
    c->cmd_id = wm_xml_child_text(n, NULL, "CmdID", p);
    c->msg_ref = wm_xml_child_text(n, NULL, "MsgRef", p);
    c->cmd_ref = wm_xml_child_text(n, NULL, "CmdRef", p);
    c->cmd = wm_xml_child_text(n, NULL, "Cmd", p);
    c->chal = wm_xml_child(n, NULL, "Chal");
    meta = wm_xml_child(n, NULL, "Meta");
    c->meta_type = wm_xml_child_text(meta, NULL, "Type", p);
    c->meta_format = wm_xml_child_text(meta, NULL, "Format", p);
    c->items = apr_array_make(p, 2, sizeof(wm_sml_item_t *));
    for (k = wm_xml_child(n, NULL, "Item"); k;
         k = wm_xml_next(k, NULL, "Item")) {
        APR_ARRAY_PUSH(c->items, wm_sml_item_t *) = parse_item(k, p);
    }
    /* The command's own Data (Status code, Alert code), not an Item's. */
    c->data = wm_xml_child_text(n, NULL, "Data", p);
    if (is_container(c->name)) {
        if (nest >= WM_SYNCML_MAX_NEST) {
            *perr = "Atomic or Sequence nested too deeply";
            return NULL;
        }
        c->children = apr_array_make(p, 4, sizeof(wm_sml_cmd_t *));
        for (k = n->children; k; k = k->next) {
            wm_sml_cmd_t *child;
            if (k->type != XML_ELEMENT_NODE || wm_xml_is(k, NULL, "CmdID") ||
                wm_xml_is(k, NULL, "Meta")) {
                continue;
            }
            if (!(child = parse_cmd(k, nest + 1, perr, p))) {
                return NULL;
            }
            APR_ARRAY_PUSH(c->children, wm_sml_cmd_t *) = child;
        }
    }
    return c;
}

static apr_status_t parse_body(xmlNodePtr body, apr_array_header_t *cmds,
                               int *pfinal, const char **perr, apr_pool_t *p)
{
    xmlNodePtr n;
    wm_sml_cmd_t *c;

    for (n = body->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (wm_xml_is(n, NULL, "Final")) {
            *pfinal = 1;
            continue;
        }
        if (!(c = parse_cmd(n, 0, perr, p))) {
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(cmds, wm_sml_cmd_t *) = c;
    }
    return APR_SUCCESS;
}

apr_status_t wm_syncml_parse(wm_syncml_msg_t **pmsg, const char *buf,
                             apr_size_t len, apr_size_t max, const char **perr,
                             apr_pool_t *p)
{
    wm_xml_limits_t lim;
    wm_syncml_msg_t *msg;
    wm_syncml_hdr_t *h;
    xmlNodePtr root, hdr, meta, src, cred;
    const char *v;
    apr_status_t rv;

    *pmsg = NULL;
    lim.max_size = max;
    lim.max_depth = WM_SYNCML_MAX_DEPTH;
    lim.allow_doctype = 1;
    msg = apr_pcalloc(p, sizeof(*msg));
    if ((rv = wm_xml_parse(&msg->doc, buf, len, &lim, perr, p))) {
        return rv;
    }
    root = xmlDocGetRootElement(msg->doc);
    if (!wm_xml_is(root, NULL, "SyncML")) {
        *perr = "the body is not a SyncML message";
        return APR_EINVAL;
    }
    hdr = wm_xml_child(root, NULL, "SyncHdr");
    msg->body = wm_xml_child(root, NULL, "SyncBody");
    if (!hdr || !msg->body) {
        *perr = "SyncML without SyncHdr or SyncBody";
        return APR_EINVAL;
    }
    h = &msg->hdr;
    h->ver_dtd = wm_xml_child_text(hdr, NULL, "VerDTD", p);
    h->ver_proto = wm_xml_child_text(hdr, NULL, "VerProto", p);
    h->session_id = wm_xml_child_text(hdr, NULL, "SessionID", p);
    h->msg_id = wm_xml_child_text(hdr, NULL, "MsgID", p);
    h->target_uri =
        wm_xml_child_text(wm_xml_child(hdr, NULL, "Target"), NULL, "LocURI", p);
    src = wm_xml_child(hdr, NULL, "Source");
    h->source_uri = wm_xml_child_text(src, NULL, "LocURI", p);
    h->source_name = wm_xml_child_text(src, NULL, "LocName", p);
    cred = wm_xml_child(hdr, NULL, "Cred");
    if (cred) {
        xmlNodePtr cmeta = wm_xml_child(cred, NULL, "Meta");
        h->cred_type = wm_xml_child_text(cmeta, NULL, "Type", p);
        h->cred_format = wm_xml_child_text(cmeta, NULL, "Format", p);
        h->cred_data = wm_xml_child_text(cred, NULL, "Data", p);
        if (!h->cred_data) {
            h->cred_data = "";
        }
    }
    meta = wm_xml_child(hdr, NULL, "Meta");
    v = wm_xml_child_text(meta, NULL, "MaxMsgSize", p);
    h->max_msg_size = v ? apr_atoi64(v) : 0;
    if (h->max_msg_size < 0) {
        h->max_msg_size = 0;
    }
    if (!h->session_id || !*h->session_id || !h->msg_id || !*h->msg_id ||
        !h->source_uri || !*h->source_uri) {
        *perr = "SyncHdr lacks SessionID, MsgID or Source LocURI";
        return APR_EINVAL;
    }
    if (strlen(h->session_id) > 64 || strlen(h->msg_id) > 16) {
        *perr = "SessionID or MsgID too long";
        return APR_EINVAL;
    }
    msg->cmds = apr_array_make(p, 8, sizeof(wm_sml_cmd_t *));
    if ((rv = parse_body(msg->body, msg->cmds, &msg->final, perr, p))) {
        return rv;
    }
    *pmsg = msg;
    return APR_SUCCESS;
}

static const char *const queueable[] = {"Get",  "Add",    "Replace",  "Delete",
                                        "Exec", "Atomic", "Sequence", NULL};

static apr_status_t check_queueable(const apr_array_header_t *cmds,
                                    const char **perr, apr_pool_t *p)
{
    int i, j, k;

    for (i = 0; i < cmds->nelts; i++) {
        wm_sml_cmd_t *c = APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
        for (k = 0; queueable[k] && strcmp(queueable[k], c->name); k++) {
        }
        if (!queueable[k]) {
            *perr = apr_psprintf(p, "%s cannot be sent to a device", c->name);
            return APR_EINVAL;
        }
        if (c->children) {
            if (c->children->nelts == 0) {
                *perr = apr_psprintf(p, "an empty %s", c->name);
                return APR_EINVAL;
            }
            if (check_queueable(c->children, perr, p)) {
                return APR_EINVAL;
            }
            continue;
        }
        if (c->items->nelts == 0) {
            *perr = apr_psprintf(p, "%s without an Item", c->name);
            return APR_EINVAL;
        }
        for (j = 0; j < c->items->nelts; j++) {
            wm_sml_item_t *it = APR_ARRAY_IDX(c->items, j, wm_sml_item_t *);
            if (!it->target || !*it->target) {
                *perr = apr_psprintf(p,
                                     "an Item of %s has no Target "
                                     "LocURI",
                                     c->name);
                return APR_EINVAL;
            }
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_syncml_parse_commands(apr_array_header_t **pcmds,
                                      const char *xml, apr_size_t max,
                                      const char **perr, apr_pool_t *p)
{
    wm_xml_limits_t lim = {0, WM_SYNCML_MAX_DEPTH, 0};
    const char *doc_text;
    xmlDocPtr doc;
    apr_array_header_t *cmds;
    int final = 0;
    apr_status_t rv;

    *pcmds = NULL;
    lim.max_size = max + 64;
    /* Wrapped so a list of commands is one document; the namespace lets
     * commands written with or without it parse alike. */
    doc_text = apr_pstrcat(p, "<SyncBody>", xml, "</SyncBody>", NULL);
    if ((rv = wm_xml_parse(&doc, doc_text, strlen(doc_text), &lim, perr, p))) {
        return rv;
    }
    cmds = apr_array_make(p, 4, sizeof(wm_sml_cmd_t *));
    if ((rv = parse_body(xmlDocGetRootElement(doc), cmds, &final, perr, p))) {
        return rv;
    }
    if (cmds->nelts == 0 || final) {
        *perr = cmds->nelts ? "Final cannot be queued" : "no command";
        return APR_EINVAL;
    }
    if ((rv = check_queueable(cmds, perr, p))) {
        return rv;
    }
    *pcmds = cmds;
    return APR_SUCCESS;
}

/* -------------------------------------------------------------- reply */

struct wm_sml_reply_t {
    apr_pool_t *pool;
    apr_array_header_t *parts; /* const char * */
    apr_size_t size;
    int next_id;         /* for the server's own CmdIDs */
    int hdr_slot;        /* where the SyncHdr Status goes */
    const char *hdr_ref; /* its MsgRef */
};

static void add(wm_sml_reply_t *rp, const char *s)
{
    APR_ARRAY_PUSH(rp->parts, const char *) = s;
    rp->size += strlen(s);
}

wm_sml_reply_t *wm_sml_reply_new(const wm_syncml_hdr_t *hdr, const char *msg_id,
                                 const char *server_uri, apr_pool_t *p)
{
    wm_sml_reply_t *rp = apr_pcalloc(p, sizeof(*rp));
    rp->pool = p;
    rp->parts = apr_array_make(p, 32, sizeof(const char *));
    rp->next_id = 2; /* s1 is the SyncHdr Status, always first */
    add(rp, apr_pstrcat(p,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                        "<SyncML xmlns=\"" WM_NS_SYNCML "\"><SyncHdr>"
                        "<VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
                        "<SessionID>",
                        hdr ? wm_xml_escape(hdr->session_id, p) : "",
                        "</SessionID><MsgID>", wm_xml_escape(msg_id, p),
                        "</MsgID><Target><LocURI>",
                        hdr ? wm_xml_escape(hdr->source_uri, p) : "",
                        "</LocURI></Target><Source><LocURI>",
                        wm_xml_escape(server_uri, p),
                        "</LocURI></Source></SyncHdr><SyncBody>", NULL));
    rp->hdr_slot = rp->parts->nelts;
    rp->hdr_ref = apr_pstrdup(p, hdr && hdr->msg_id ? hdr->msg_id : "");
    add(rp, ""); /* filled by wm_sml_reply_hdr_status */
    return rp;
}

static const char *status_xml(apr_pool_t *p, int id, const char *msg_ref,
                              const char *cmd_ref, const char *cmd, int code,
                              const char *next_nonce)
{
    const char *chal = "";

    if (next_nonce) {
        chal = apr_pstrcat(
            p,
            "<Chal><Meta><Format xmlns=\"" WM_NS_METINF
            "\">b64</Format><Type xmlns=\"" WM_NS_METINF
            "\">syncml:auth-md5</Type><NextNonce xmlns=\"" WM_NS_METINF "\">",
            wm_xml_escape(next_nonce, p), "</NextNonce></Meta></Chal>", NULL);
    }
    return apr_psprintf(p,
                        "<Status><CmdID>s%d</CmdID><MsgRef>%s</MsgRef>"
                        "<CmdRef>%s</CmdRef><Cmd>%s</Cmd>%s<Data>%d</Data>"
                        "</Status>",
                        id, wm_xml_escape(msg_ref, p),
                        wm_xml_escape(cmd_ref, p), wm_xml_escape(cmd, p), chal,
                        code);
}

void wm_sml_reply_hdr_status(wm_sml_reply_t *rp, int code,
                             const char *next_nonce)
{
    const char *x =
        status_xml(rp->pool, 1, rp->hdr_ref, "0", "SyncHdr", code, next_nonce);
    const char **slot = &APR_ARRAY_IDX(rp->parts, rp->hdr_slot, const char *);
    rp->size += strlen(x) - strlen(*slot);
    *slot = x;
}

void wm_sml_reply_status(wm_sml_reply_t *rp, const char *msg_ref,
                         const char *cmd_ref, const char *cmd, int code)
{
    add(rp,
        status_xml(rp->pool, rp->next_id++, msg_ref, cmd_ref, cmd, code, NULL));
}

void wm_sml_reply_alert(wm_sml_reply_t *rp, int code)
{
    add(rp, apr_psprintf(rp->pool,
                         "<Alert><CmdID>s%d</CmdID><Data>%d</Data></Alert>",
                         rp->next_id++, code));
}

void wm_sml_reply_raw(wm_sml_reply_t *rp, const char *xml)
{
    add(rp, xml);
}

apr_size_t wm_sml_reply_size(const wm_sml_reply_t *rp)
{
    return rp->size;
}

const char *wm_sml_reply_finish(wm_sml_reply_t *rp, int final, apr_size_t *plen)
{
    const char *out;
    add(rp, final ? "<Final/></SyncBody></SyncML>" : "</SyncBody></SyncML>");
    out = apr_array_pstrcat(rp->pool, rp->parts, 0);
    if (plen) {
        *plen = rp->size;
    }
    return out;
}

const char *wm_syncml_reply_status_only(const wm_syncml_hdr_t *hdr,
                                        const char *msg_id,
                                        const char *server_uri, int status,
                                        apr_pool_t *p)
{
    wm_sml_reply_t *rp = wm_sml_reply_new(hdr, msg_id, server_uri, p);
    wm_sml_reply_hdr_status(rp, status, NULL);
    return wm_sml_reply_finish(rp, 1, NULL);
}
