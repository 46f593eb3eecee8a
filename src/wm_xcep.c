/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-XCEP GetPoliciesResponse. Elements follow the schema's sequence order
 * (MS-XCEP 3.1.4.1.3); Windows reads minimalKeyLength,
 * hashAlgorithmOIDReference and cryptoProviders (Microsoft Learn, "We'll
 * first support..."), so those carry the policy: RSA of at least 2048
 * bits, SHA-256, keys in the TPM or, without one, in software. Every OID
 * referenced is declared in oIDs, as the schema requires. */

#include <apr_strings.h>

#include "wm_cert.h"
#include "wm_xcep.h"
#include "wm_xml.h"

apr_status_t wm_xcep_check(const wm_soap_env_t *env, const char **perr)
{
    if (!wm_xml_is(env->body, WM_NS_XCEP, "GetPolicies")) {
        *perr = "the body is not an MS-XCEP GetPolicies request";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The policy's own OID (group 9, enrollment policy object): a UUID OID
 * under 2.25 (ITU-T X.667), which needs no registration. */
#define WM_XCEP_POLICY_OID "2.25.183370147322781447759775855408574016836"

#define NIL(e) "<" e " xsi:nil=\"true\"/>"

const char *wm_xcep_response(const wm_xcep_conf_t *conf, const char *relates_to,
                             apr_pool_t *p)
{
    const char *body = apr_psprintf(
        p,
        "<GetPoliciesResponse xmlns=\"" WM_NS_XCEP "\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        "<response>"
        "<policyID>mod_winmdm-device</policyID>"
        "<policyFriendlyName>mod_winmdm device certificate"
        "</policyFriendlyName>" NIL("nextUpdateHours") NIL(
            "policiesNotChanged") "<policies><policy>"
                                  "<policyOIDReference>0</policyOIDReference>" NIL(
                                      "cAs") "<attributes>"
                                             "<commonName>mod_winmdm-device</commonName>"
                                             "<policySchema>3</policySchema>"
                                             "<certificateValidity>"
                                             "<validityPeriodSeconds>%" APR_INT64_T_FMT
                                             "</validityPeriodSeconds>"
                                             "<renewalPeriodSeconds>%" APR_INT64_T_FMT
                                             "</renewalPeriodSeconds>"
                                             "</certificateValidity>"
                                             "<permission><enroll>true</enroll><autoEnroll>false</autoEnroll>"
                                             "</permission>"
                                             "<privateKeyAttributes>"
                                             "<minimalKeyLength>%d</minimalKeyLength>" NIL(
                                                 "keySpec")
                                                 NIL("keyUsageProperty") NIL(
                                                     "permissions") "<algorithmOIDReference>2</algorithmOIDReference>"
                                                                    "<cryptoProviders>"
                                                                    "<provider>Microsoft Platform Crypto Provider</provider>"
                                                                    "<provider>Microsoft Software Key Storage Provider</provider>"
                                                                    "</cryptoProviders>"
                                                                    "</privateKeyAttributes>"
                                                                    "<revision><majorRevision>101</majorRevision>"
                                                                    "<minorRevision>0</minorRevision></revision>" NIL(
                                                                        "supersededPolicies") NIL("privateKeyFlags")
                                                                        NIL("subjectNameFlags") NIL(
                                                                            "enrollmentFlags")
                                                                            NIL("generalFlags") "<hashAlgorithmOIDReference>1</hashAlgorithmOIDReference>" NIL(
                                                                                "rARequirements") NIL("keyArchivalAttributes")
                                                                                NIL("extensions") "</attributes></policy></policies></response>" NIL(
                                                                                    "cAs") "<oIDs>"
                                                                                           "<oID><value>" WM_XCEP_POLICY_OID
                                                                                           "</value><group>9</group>"
                                                                                           "<oIDReferenceID>0</oIDReferenceID>"
                                                                                           "<defaultName>mod_winmdm-device</defaultName></oID>"
                                                                                           "<oID><value>2.16.840.1.101.3.4.2.1</value><group>1</group>"
                                                                                           "<oIDReferenceID>1</oIDReferenceID>"
                                                                                           "<defaultName>szOID_NIST_sha256</defaultName></oID>"
                                                                                           "<oID><value>1.2.840.113549.1.1.1</value><group>3</group>"
                                                                                           "<oIDReferenceID>2</oIDReferenceID>"
                                                                                           "<defaultName>szOID_RSA_RSA</defaultName></oID>"
                                                                                           "</oIDs></GetPoliciesResponse>",
        (apr_int64_t)conf->validity_days * 86400,
        (apr_int64_t)conf->renew_days * 86400, WM_CSR_MIN_BITS);
    return wm_soap_envelope(WM_ACTION_XCEP_RESPONSE, relates_to, NULL, body, p);
}
