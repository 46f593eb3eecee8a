/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The operation catalog and CmdID placeholders (see wm_ops.h). Raw SyncML
 * from administrators is checked by the SyncML parser, then its CmdIDs are
 * replaced in the DOM, so everything else in it goes out as written. */

#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <libxml/tree.h>

#include "wm_ops.h"
#include "wm_provdoc.h"
#include "wm_store.h"
#include "wm_syncml.h"
#include "wm_xml.h"

const char *const wm_ops_types[] = {
    "DEVICE_INFO", "LOCK",      "LOCK_RESET", "WIPE",   "REBOOT",      "RING",
    "LOCATION",    "DISENROLL", "POLICY",     "SYNCML", "APP_INSTALL", NULL};

#define META(fmt)                                                              \
    "<Meta><Format xmlns=\"" WM_NS_METINF "\">" fmt "</Format></Meta>"

/* The inventory a DEVICE_INFO reads: nodes every Windows 10/11 desktop has
 * (DevInfo and DevDetail CSPs), so a missing node does not fail it. */
static const char *const device_info_nodes[] = {
    "./DevInfo/DevId",
    "./DevInfo/Man",
    "./DevInfo/Mod",
    "./DevInfo/DmV",
    "./DevInfo/Lang",
    "./DevDetail/SwV",
    "./DevDetail/OEM",
    "./DevDetail/FwV",
    "./DevDetail/HwV",
    "./DevDetail/DevTyp",
    "./DevDetail/Ext/Microsoft/OSPlatform",
    "./DevDetail/Ext/Microsoft/DeviceName",
    "./DevDetail/Ext/Microsoft/ProcessorArchitecture",
    "./DevDetail/Ext/Microsoft/TotalRAM",
    NULL};

/* RemoteFind (Windows 10 Mobile; desktops answer 404 and the operation
 * fails, which the API documents). */
static const char *const location_nodes[] = {
    "./Vendor/MSFT/RemoteFind/Location/Latitude",
    "./Vendor/MSFT/RemoteFind/Location/Longitude",
    "./Vendor/MSFT/RemoteFind/Location/Accuracy", NULL};

static const char *target(const char *uri, apr_pool_t *p)
{
    return apr_pstrcat(p, "<Target><LocURI>", wm_xml_escape(uri, p),
                       "</LocURI></Target>", NULL);
}

static const char *get_of(const char *const *nodes, apr_pool_t *p)
{
    apr_array_header_t *parts = apr_array_make(p, 20, sizeof(const char *));
    int i;

    APR_ARRAY_PUSH(parts, const char *) = "<Get><CmdID>#1</CmdID>";
    for (i = 0; nodes[i]; i++) {
        APR_ARRAY_PUSH(parts, const char *) =
            apr_pstrcat(p, "<Item>", target(nodes[i], p), "</Item>", NULL);
    }
    APR_ARRAY_PUSH(parts, const char *) = "</Get>";
    return apr_array_pstrcat(p, parts, 0);
}

/* An Exec of one node; format "null" for nodes that take no value. */
static const char *exec_of(const char *uri, const char *format,
                           const char *data, apr_pool_t *p)
{
    return apr_pstrcat(p, "<Exec><CmdID>#1</CmdID><Item>", target(uri, p),
                       "<Meta><Format xmlns=\"" WM_NS_METINF "\">", format,
                       "</Format></Meta><Data>", wm_xml_escape(data, p),
                       "</Data></Item></Exec>", NULL);
}

/* A Policy CSP path relative to ./Device/Vendor/MSFT/Policy/Config/:
 * "Area/Policy", letters, digits and '_' only. */
static int policy_path_ok(const char *path)
{
    const char *slash = strchr(path, '/'), *c;
    if (!slash || slash == path || !slash[1] || strchr(slash + 1, '/')) {
        return 0;
    }
    for (c = path; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '/') {
            return 0;
        }
    }
    return 1;
}

static int is_integer(const char *v)
{
    const char *c = v;
    if (*c == '-') {
        c++;
    }
    if (!*c || strlen(c) > 10) {
        return 0;
    }
    for (; *c; c++) {
        if (!apr_isdigit(*c)) {
            return 0;
        }
    }
    return 1;
}

static int is_base64(const char *v)
{
    size_t n = strlen(v), body = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "abcdefghijklmnopqrstuvwxyz"
                                          "0123456789+/");
    return n % 4 == 0 && strspn(v + body, "=") == n - body && n - body <= 2;
}

/* The Meta Format a setting is sent with and its Data, checked against
 * the format: NULL (with *perr) when the value is not of it. */
static const char *policy_data(const wm_policy_setting_t *set,
                               const char **pformat, const char **perr,
                               apr_pool_t *p)
{
    const char *f = set->format, *v = set->value;

    if (!f) {
        /* Only the plain form: an integer goes as int, the rest as chr. */
        f = is_integer(v) ? "int" : "chr";
    }
    *pformat = f;
    if (!strcmp(f, "chr") || (!strcmp(f, "int") && is_integer(v)) ||
        (!strcmp(f, "bool") && (!strcmp(v, "true") || !strcmp(v, "false"))) ||
        (!strcmp(f, "b64") && is_base64(v))) {
        return wm_xml_escape(v, p);
    }
    if (!strcmp(f, "xml")) {
        /* Sent as escaped text, which the device reads back as the same
         * characters; it must be well-formed XML content. */
        wm_xml_limits_t lim = {0, WM_SYNCML_MAX_DEPTH, 0};
        const char *wrapped = apr_pstrcat(p, "<x>", v, "</x>", NULL);
        xmlDocPtr doc;
        lim.max_size = strlen(wrapped);
        if (wm_xml_parse(&doc, wrapped, strlen(wrapped), &lim, perr, p)) {
            *perr = apr_psprintf(p, "the value of %s is not well-formed XML",
                                 set->path);
            return NULL;
        }
        return wm_xml_escape(v, p);
    }
    if (strcmp(f, "int") && strcmp(f, "bool") && strcmp(f, "b64")) {
        *perr = apr_psprintf(p,
                             "the format of %s must be int, chr, bool, b64 "
                             "or xml",
                             set->path);
    }
    else {
        *perr = apr_psprintf(p, "the value of %s is not %s", set->path,
                             !strcmp(f, "int")    ? "an integer"
                             : !strcmp(f, "bool") ? "true or false"
                                                  : "base64");
    }
    return NULL;
}

apr_status_t wm_ops_policy_replace(const wm_policy_setting_t *set, int n,
                                   const char **pxml, const char **puri,
                                   const char **perr, apr_pool_t *p)
{
    const char *format, *data;

    if (!set->path || !policy_path_ok(set->path) || !set->value) {
        *perr = apr_psprintf(p,
                             "'%s' is not a Policy CSP setting such "
                             "as DeviceLock/MinDevicePasswordLength",
                             set->path ? set->path : "");
        return APR_EINVAL;
    }
    if (!(data = policy_data(set, &format, perr, p))) {
        return APR_EINVAL;
    }
    *puri = apr_pstrcat(p, WM_OPS_POLICY_CONFIG, set->path, NULL);
    *pxml = apr_psprintf(p,
                         "<Replace><CmdID>#%d</CmdID><Item>%s<Meta><Format "
                         "xmlns=\"" WM_NS_METINF "\">%s</Format></Meta>"
                         "<Data>%s</Data></Item></Replace>",
                         n, target(*puri, p), format, data);
    return APR_SUCCESS;
}

/* An Atomic of Replaces, one per setting: all applied or none (MS-MDM
 * 2.2.7.1). A setting names its Meta Format, or the value decides (an
 * integer goes as int, the rest as chr). */
static apr_status_t policy_of(const apr_array_header_t *settings,
                              const char **pbody, int *pcount,
                              const char **perr, apr_pool_t *p)
{
    apr_array_header_t *parts;
    int i;

    if (!settings || settings->nelts == 0) {
        *perr = "POLICY needs at least one setting";
        return APR_EINVAL;
    }
    parts = apr_array_make(p, settings->nelts + 2, sizeof(const char *));
    APR_ARRAY_PUSH(parts, const char *) = "<Atomic><CmdID>#1</CmdID>";
    for (i = 0; i < settings->nelts; i++) {
        const char *xml, *uri;
        if (wm_ops_policy_replace(
                &APR_ARRAY_IDX(settings, i, wm_policy_setting_t), i + 2, &xml,
                &uri, perr, p)) {
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(parts, const char *) = xml;
    }
    APR_ARRAY_PUSH(parts, const char *) = "</Atomic>";
    *pbody = apr_array_pstrcat(p, parts, 0);
    *pcount = 1;
    return APR_SUCCESS;
}

static int all_of(const char *s, const char *set, size_t min, size_t max)
{
    size_t n = strlen(s);
    return n >= min && n <= max && strspn(s, set) == n;
}

/* "{8-4-4-4-12}" hex, the form of an MSI ProductCode. */
static int guid_ok(const char *g)
{
    static const int dash[] = {9, 14, 19, 24};
    int i;
    if (strlen(g) != 38 || g[0] != '{' || g[37] != '}') {
        return 0;
    }
    for (i = 1; i < 37; i++) {
        int is_dash =
            i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
        if (is_dash ? g[i] != '-' : !apr_isxdigit(g[i])) {
            return 0;
        }
    }
    return 1;
}

/* An MSI install (EnterpriseDesktopAppManagement CSP): an Add of the
 * product's DownloadInstall node, then its Exec with an MsiInstallJob. The
 * device answers both at once; the install's outcome arrives later in an
 * alert naming the node (Alert 1224, Meta Type
 * Reversed-Domain-Name:com.microsoft.mdm.win32csp_install), which
 * completes the operation. */
static apr_status_t app_install_of(const wm_op_params_t *a, const char **pbody,
                                   int *pcount, const char **perr,
                                   apr_pool_t *p)
{
    const char *node, *job;

    if (!a->product_id || !guid_ok(a->product_id)) {
        *perr = "product_id must be an MSI ProductCode such as "
                "{12345678-ABCD-1234-ABCD-1234567890AB}";
        return APR_EINVAL;
    }
    if (!a->version || !all_of(a->version, "0123456789.", 1, 32)) {
        *perr = "version must be digits and dots, e.g. 1.2.3";
        return APR_EINVAL;
    }
    if (!a->url ||
        (strncmp(a->url, "https://", 8) && strncmp(a->url, "http://", 7)) ||
        strlen(a->url) > 2048 || strpbrk(a->url, " \t\r\n<>\"")) {
        *perr = "url must be an http or https URL of the .msi file";
        return APR_EINVAL;
    }
    if (!a->sha256 || !all_of(a->sha256, "0123456789abcdefABCDEF", 64, 64)) {
        *perr = "sha256 must be the file's SHA-256 as 64 hex digits";
        return APR_EINVAL;
    }
    /* The product id's braces are escaped in the LocURI, as in the CSP's
     * examples (a raw '{' is not a URI character). */
    /* The MsiInstallJob goes in Data as markup, not escaped text, as in
     * the CSP's examples; every value in it was checked above, the URL is
     * escaped. */
    node = wm_ops_uri_key(apr_pstrcat(p,
                                      "./Device/Vendor/MSFT/"
                                      "EnterpriseDesktopAppManagement/MSI/",
                                      a->product_id, "/DownloadInstall", NULL),
                          p);
    job = apr_pstrcat(
        p, "<MsiInstallJob id=\"", a->product_id, "\"><Product Version=\"",
        a->version, "\"><Download><ContentURLList><ContentURL>",
        wm_xml_escape(a->url, p),
        "</ContentURL></ContentURLList></Download><Validation><FileHash>",
        a->sha256,
        "</FileHash></Validation><Enforcement><CommandLine>/quiet"
        "</CommandLine><TimeOut>10</TimeOut><RetryCount>3</RetryCount>"
        "<RetryInterval>5</RetryInterval></Enforcement></Product>"
        "</MsiInstallJob>",
        NULL);
    *pbody = apr_pstrcat(
        p, "<Add><CmdID>#1</CmdID><Item>", target(node, p),
        "</Item></Add><Exec><CmdID>#2</CmdID><Item>", target(node, p),
        "<Meta><Format xmlns=\"" WM_NS_METINF "\">xml</Format><Type "
        "xmlns=\"" WM_NS_METINF "\">text/plain</Type></Meta><Data>",
        job, "</Data></Item></Exec>", NULL);
    *pcount = 2;
    return APR_SUCCESS;
}

/* The DMClient poll schedule of the provisioning document, sent again
 * when WinMDMPollInterval changes: every Poll node in one Replace. */
static const char *poll_of(const wm_op_params_t *params, apr_pool_t *p)
{
    const char *base = apr_pstrcat(p, "./Vendor/MSFT/DMClient/Provider/",
                                   params->provider_id, "/Poll/", NULL);
    const char *names[] = {"NumberOfFirstRetries",
                           "IntervalForFirstSetOfRetries",
                           "NumberOfSecondRetries",
                           "IntervalForSecondSetOfRetries",
                           "NumberOfRemainingScheduledRetries",
                           "IntervalForRemainingScheduledRetries"};
    wm_poll_schedule_t s;
    int values[6], i;
    const char *out = "<Replace><CmdID>#1</CmdID>";

    wm_provdoc_poll_schedule(params->poll_minutes, &s);
    values[0] = s.first_count;
    values[1] = s.first_minutes;
    values[2] = s.second_count;
    values[3] = s.second_minutes;
    values[4] = s.remaining_count;
    values[5] = s.remaining_minutes;
    for (i = 0; i < 6; i++) {
        out = apr_psprintf(p, "%s<Item>%s" META("int") "<Data>%d</Data></Item>",
                           out,
                           target(apr_pstrcat(p, base, names[i], NULL), p),
                           values[i]);
    }
    return apr_pstrcat(p, out, "</Replace>", NULL);
}

/* Gives cmd the placeholder CmdID "#n", adding the element when the
 * administrator left it out. */
static void set_placeholder(xmlNodePtr cmd, int n, apr_pool_t *p)
{
    xmlNodePtr id = wm_xml_child(cmd, NULL, "CmdID");
    if (!id) {
        id = xmlNewDocNode(cmd->doc, cmd->ns, (const xmlChar *)"CmdID", NULL);
        if (cmd->children) {
            xmlAddPrevSibling(cmd->children, id);
        }
        else {
            xmlAddChild(cmd, id);
        }
    }
    xmlNodeSetContent(id, (const xmlChar *)apr_psprintf(p, "#%d", n));
}

static int is_command(const xmlNode *c)
{
    return c->type == XML_ELEMENT_NODE && !wm_xml_is(c, NULL, "CmdID") &&
           !wm_xml_is(c, NULL, "Meta") && !wm_xml_is(c, NULL, "Item");
}

/* Numbers the commands nested in Atomic and Sequence, after the top
 * level, in document order. */
static void number_nested(xmlNodePtr parent, int *next, apr_pool_t *p)
{
    xmlNodePtr c, k;
    for (c = parent->children; c; c = c->next) {
        if (wm_xml_is(c, NULL, "Atomic") || wm_xml_is(c, NULL, "Sequence")) {
            for (k = c->children; k; k = k->next) {
                if (is_command(k)) {
                    set_placeholder(k, (*next)++, p);
                }
            }
            number_nested(c, next, p);
        }
    }
}

static apr_status_t syncml_of(const char *xml, apr_size_t max,
                              const char **pbody, int *pcount,
                              const char **perr, apr_pool_t *p)
{
    wm_xml_limits_t lim = {0, WM_SYNCML_MAX_DEPTH, 0};
    apr_array_header_t *cmds;
    xmlDocPtr doc;
    xmlNodePtr root, c;
    xmlBufferPtr buf;
    const char *wrapped;
    int next = 1;
    apr_status_t rv;

    if (!xml || !*xml) {
        *perr = "SYNCML needs the commands to send";
        return APR_EINVAL;
    }
    if (strlen(xml) > max) {
        *perr = "the SyncML commands are too large";
        return APR_EINVAL;
    }
    if ((rv = wm_syncml_parse_commands(&cmds, xml, max, perr, p))) {
        return APR_EINVAL;
    }
    wrapped = apr_pstrcat(p, "<SyncBody>", xml, "</SyncBody>", NULL);
    lim.max_size = strlen(wrapped);
    if ((rv = wm_xml_parse(&doc, wrapped, strlen(wrapped), &lim, perr, p))) {
        return APR_EINVAL;
    }
    root = xmlDocGetRootElement(doc);
    /* top level first */
    for (c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            set_placeholder(c, next++, p);
        }
    }
    *pcount = next - 1;
    number_nested(root, &next, p);
    buf = xmlBufferCreate();
    if (!buf) {
        return APR_ENOMEM;
    }
    for (c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            xmlNodeDump(buf, doc, c, 0, 0);
        }
    }
    *pbody = apr_pstrmemdup(p, (const char *)xmlBufferContent(buf),
                            (apr_size_t)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return APR_SUCCESS;
}

apr_status_t wm_ops_build(const char *type, const wm_op_params_t *params,
                          apr_size_t max, const char **pbody, int *pcount,
                          const char **perr, apr_pool_t *p)
{
    *pbody = NULL;
    *pcount = 1;
    if (!strcmp(type, "DEVICE_INFO")) {
        *pbody = get_of(device_info_nodes, p);
    }
    else if (!strcmp(type, "LOCATION")) {
        *pbody = get_of(location_nodes, p);
    }
    else if (!strcmp(type, "LOCK")) {
        *pbody = exec_of("./Vendor/MSFT/RemoteLock/Lock", "null", "", p);
    }
    else if (!strcmp(type, "LOCK_RESET")) {
        *pbody =
            exec_of("./Vendor/MSFT/RemoteLock/LockAndResetPIN", "null", "", p);
    }
    else if (!strcmp(type, "RING")) {
        *pbody = exec_of("./Vendor/MSFT/RemoteRing/Ring", "null", "", p);
    }
    else if (!strcmp(type, "WIPE")) {
        /* "Reset this PC, remove everything" (RemoteWipe CSP). */
        *pbody =
            exec_of("./Device/Vendor/MSFT/RemoteWipe/doWipe", "chr", "", p);
    }
    else if (!strcmp(type, "REBOOT")) {
        *pbody =
            exec_of("./Device/Vendor/MSFT/Reboot/RebootNow", "null", "", p);
    }
    else if (!strcmp(type, "DISENROLL")) {
        /* DMClient CSP: Exec Provider/<ID>/Unenroll with the ID as data. */
        *pbody = exec_of(apr_pstrcat(p, "./Vendor/MSFT/DMClient/Provider/",
                                     params->provider_id, "/Unenroll", NULL),
                         "chr", params->provider_id, p);
    }
    else if (!strcmp(type, "POLL")) {
        *pbody = poll_of(params, p);
    }
    else if (!strcmp(type, "POLICY")) {
        return policy_of(params->settings, pbody, pcount, perr, p);
    }
    else if (!strcmp(type, "SYNCML")) {
        return syncml_of(params->syncml, max, pbody, pcount, perr, p);
    }
    else if (!strcmp(type, "APP_INSTALL")) {
        return app_install_of(params, pbody, pcount, perr, p);
    }
    else {
        *perr = apr_psprintf(p, "unknown operation type '%s'", type);
        return APR_ENOTIMPL;
    }
    return APR_SUCCESS;
}

/* Every CmdID element holding a placeholder, in document order. */
static void collect_placeholders(xmlNodePtr n, apr_array_header_t *out)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (wm_xml_is(n, NULL, "CmdID")) {
            xmlChar *t = xmlNodeGetContent(n);
            if (t && t[0] == '#') {
                APR_ARRAY_PUSH(out, xmlNodePtr) = n;
            }
            xmlFree(t);
            continue;
        }
        collect_placeholders(n->children, out);
    }
}

/* Done on the DOM, not the text: a CmdID may carry a namespace prefix, and
 * Data (CDATA included) may hold anything, "<CmdID>#2</CmdID>" too. */
const char *wm_ops_render(const char *body, apr_int64_t op_id, apr_pool_t *p)
{
    wm_xml_limits_t lim = {0, WM_SYNCML_MAX_DEPTH, 0};
    const char *wrapped = apr_pstrcat(p, "<SyncBody>", body, "</SyncBody>",
                                      NULL);
    apr_array_header_t *ids = apr_array_make(p, 8, sizeof(xmlNodePtr));
    const char *err, *out;
    xmlBufferPtr buf;
    xmlDocPtr doc;
    xmlNodePtr c;
    int i;

    lim.max_size = strlen(wrapped);
    if (wm_xml_parse(&doc, wrapped, strlen(wrapped), &lim, &err, p)) {
        return body; /* never: bodies are built by wm_ops_build */
    }
    collect_placeholders(xmlDocGetRootElement(doc)->children, ids);
    for (i = 0; i < ids->nelts; i++) {
        xmlNodePtr id = APR_ARRAY_IDX(ids, i, xmlNodePtr);
        xmlChar *t = xmlNodeGetContent(id);
        const char *v = ids->nelts == 1
                            ? apr_psprintf(p, "%" APR_INT64_T_FMT, op_id)
                            : apr_psprintf(p, "%" APR_INT64_T_FMT ".%s",
                                           op_id, (const char *)t + 1);
        xmlFree(t);
        xmlNodeSetContent(id, (const xmlChar *)v);
    }
    if (!(buf = xmlBufferCreate())) {
        return body;
    }
    for (c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
        xmlNodeDump(buf, doc, c, 0, 0);
    }
    out = apr_pstrmemdup(p, (const char *)xmlBufferContent(buf),
                         (apr_size_t)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return out;
}

static const wm_sml_cmd_t *find_cmd(const apr_array_header_t *cmds,
                                    const char *cmd_id)
{
    int i;
    for (i = 0; cmds && i < cmds->nelts; i++) {
        const wm_sml_cmd_t *c = APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
        const wm_sml_cmd_t *hit;
        if (c->cmd_id && !strcmp(c->cmd_id, cmd_id)) {
            return c;
        }
        if ((hit = find_cmd(c->children, cmd_id))) {
            return hit;
        }
    }
    return NULL;
}

const char *wm_ops_target_of(const char *body, int idx, apr_pool_t *p)
{
    apr_array_header_t *cmds;
    const wm_sml_cmd_t *c;
    const char *err;

    if (wm_syncml_parse_commands(&cmds, body, strlen(body) + 1, &err, p) ||
        !(c = find_cmd(cmds, apr_psprintf(p, "#%d", idx))) ||
        c->items->nelts == 0) {
        return NULL;
    }
    return APR_ARRAY_IDX(c->items, 0, wm_sml_item_t *)->target;
}

const char *wm_ops_uri_key(const char *uri, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(uri) * 3 + 1), *o = out;
    int in_braces = 0;

    for (; *uri; uri++) {
        if (*uri == '{' || (uri[0] == '%' && uri[1] == '7' &&
                            (uri[2] == 'B' || uri[2] == 'b'))) {
            memcpy(o, "%7B", 3);
            o += 3;
            uri += *uri == '{' ? 0 : 2;
            in_braces = 1;
        }
        else if (*uri == '}' || (uri[0] == '%' && uri[1] == '7' &&
                                 (uri[2] == 'D' || uri[2] == 'd'))) {
            memcpy(o, "%7D", 3);
            o += 3;
            uri += *uri == '}' ? 0 : 2;
            in_braces = 0;
        }
        else {
            *o++ = in_braces ? (char)apr_toupper(*uri) : *uri;
        }
    }
    *o = '\0';
    return out;
}

int wm_ops_cmdref(const char *cmd_ref, apr_int64_t *pid, int *pindex)
{
    const char *c = cmd_ref;
    apr_int64_t id = 0;
    int idx = 0;

    if (!c || !apr_isdigit(*c)) {
        return 0;
    }
    for (; apr_isdigit(*c); c++) {
        if (id > APR_INT64_MAX / 10 - 10) {
            return 0;
        }
        id = id * 10 + (*c - '0');
    }
    if (*c == '.') {
        for (c++; apr_isdigit(*c); c++) {
            if (idx > 100000) {
                return 0;
            }
            idx = idx * 10 + (*c - '0');
        }
        if (idx == 0) {
            return 0;
        }
    }
    else {
        idx = 1;
    }
    if (*c || id <= 0) {
        return 0;
    }
    *pid = id;
    *pindex = idx;
    return 1;
}
