/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* SyncML 1.2 message parsing and reply building (see wm_syncml.h). */

#include <apr_strings.h>

#include "wm_syncml.h"
#include "wm_xml.h"

apr_status_t wm_syncml_parse(wm_syncml_msg_t **pmsg, const char *buf,
                             apr_size_t len, apr_size_t max, const char **perr,
                             apr_pool_t *p)
{
    wm_xml_limits_t lim;
    wm_syncml_msg_t *msg;
    wm_syncml_hdr_t *h;
    xmlNodePtr root, hdr, meta;
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
    h->source_uri =
        wm_xml_child_text(wm_xml_child(hdr, NULL, "Source"), NULL, "LocURI", p);
    h->cred = wm_xml_child(hdr, NULL, "Cred");
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
    *pmsg = msg;
    return APR_SUCCESS;
}

const char *wm_syncml_reply_status_only(const wm_syncml_hdr_t *hdr,
                                        const char *msg_id,
                                        const char *server_uri, int status,
                                        apr_pool_t *p)
{
    const char *sid = hdr ? wm_xml_escape(hdr->session_id, p) : "";
    const char *ref = hdr ? wm_xml_escape(hdr->msg_id, p) : "";
    const char *dev = hdr ? wm_xml_escape(hdr->source_uri, p) : "";

    return apr_psprintf(
        p,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<SyncML xmlns=\"" WM_NS_SYNCML "\"><SyncHdr>"
        "<VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
        "<SessionID>%s</SessionID><MsgID>%s</MsgID>"
        "<Target><LocURI>%s</LocURI></Target>"
        "<Source><LocURI>%s</LocURI></Source></SyncHdr>"
        "<SyncBody><Status><CmdID>1</CmdID><MsgRef>%s</MsgRef>"
        "<CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>%d</Data></Status>"
        "<Final/></SyncBody></SyncML>",
        sid, wm_xml_escape(msg_id, p), dev, wm_xml_escape(server_uri, p), ref,
        status);
}
