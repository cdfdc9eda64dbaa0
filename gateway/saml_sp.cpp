// The eHerkenning SAML SP on Lasso; see saml_sp.h.
#include "gateway/saml_sp.h"

// libxml2 first, outside Lasso's extern "C" (it pulls in ICU's C++ headers).
#include <glib-object.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xmlreader.h>
#include <lasso/lasso.h>
#include <lasso/saml-2.0/saml2_helper.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_authn_context.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/saml2_conditions.h>
#include <lasso/xml/saml-2.0/saml2_encrypted_element.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_request_abstract.h>
#include <lasso/xml/saml-2.0/samlp2_requested_authn_context.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>

#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmltree.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include <sodium.h>

#include "common/log.h"
#include "gateway/html.h"
#include "keys/saml_sp_key.h"

namespace kp::gateway {

namespace {

// Lasso objects are GObjects: one reference, dropped here.
struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
using LoginPtr = std::unique_ptr<LassoLogin, GObjectUnref>;

std::string attr_escape(const std::string& s) { return html::escape(s); }

// Every ds:X509Certificate text in `xml`, whitespace removed. A plain scan:
// used on the broker's metadata (the operator's file) and, only to name a
// refusal, on a response Lasso already refused.
std::vector<std::string> certificates_in(std::string_view xml) {
  std::vector<std::string> out;
  const std::string_view tag = "X509Certificate>";
  std::size_t pos = 0;
  while ((pos = xml.find(tag, pos)) != std::string_view::npos) {
    pos += tag.size();
    if (pos >= 2 && xml[pos - tag.size() - 1] == '/') continue;  // a closing tag
    std::size_t end = xml.find('<', pos);
    if (end == std::string_view::npos) break;
    std::string cert;
    for (char c : xml.substr(pos, end - pos))
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') cert += c;
    if (!cert.empty()) out.push_back(cert);
    pos = end;
  }
  return out;
}

std::string decoded(const std::string& b64) {
  gsize n = 0;
  guchar* raw = g_base64_decode(b64.c_str(), &n);
  std::string out(reinterpret_cast<const char*>(raw), n);
  g_free(raw);
  return out;
}

// "2026-12-06T22:54:53Z" or with fractional seconds, to ms; -1 when not that.
int64_t saml_time_ms(const char* text) {
  if (!text) return -1;
  std::tm tm{};
  const char* rest = ::strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  int64_t ms = static_cast<int64_t>(::timegm(&tm)) * 1000;
  if (*rest == '.') {
    int64_t scale = 100;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) ms += (*rest - '0') * scale;
  }
  return *rest == 'Z' && rest[1] == '\0' ? ms : -1;
}

// The text of an AttributeValue: its NameID (with the qualifier) or text.
struct Value {
  std::string text, qualifier;
};
std::vector<Value> values_of(LassoSaml2Attribute* a) {
  std::vector<Value> out;
  for (GList* v = a->AttributeValue; v; v = v->next) {
    if (!LASSO_IS_SAML2_ATTRIBUTE_VALUE(v->data)) continue;
    for (GList* n = LASSO_SAML2_ATTRIBUTE_VALUE(v->data)->any; n; n = n->next) {
      if (LASSO_IS_SAML2_NAME_ID(n->data)) {
        auto* id = LASSO_SAML2_NAME_ID(n->data);
        out.push_back({id->content ? id->content : "", id->NameQualifier ? id->NameQualifier : ""});
      } else if (LASSO_IS_MISC_TEXT_NODE(n->data)) {
        auto* t = LASSO_MISC_TEXT_NODE(n->data);
        if (t->text_child) {
          if (t->content) out.push_back({t->content, ""});
        } else if (xmlNode* x = lasso_misc_text_node_get_xml_content(t);
                   x && x->name && std::string_view(reinterpret_cast<const char*>(x->name)) == "NameID") {
          // An element Lasso keeps as XML: read the NameID's text and qualifier.
          xmlChar* text = xmlNodeGetContent(x);
          xmlChar* qualifier = xmlGetProp(x, reinterpret_cast<const xmlChar*>("NameQualifier"));
          out.push_back({text ? reinterpret_cast<const char*>(text) : "",
                         qualifier ? reinterpret_cast<const char*>(qualifier) : ""});
          xmlFree(text);
          xmlFree(qualifier);
        }
      }
    }
  }
  return out;
}

constexpr const char* kRsaOaep = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

std::string attribute(xmlNode* n, const char* name) {
  xmlChar* v = n ? xmlGetProp(n, reinterpret_cast<const xmlChar*>(name)) : nullptr;
  std::string out = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

xmlNode* child(xmlNode* n, const char* name, const xmlChar* ns) {
  return n ? xmlSecFindChild(n, reinterpret_cast<const xmlChar*>(name), ns) : nullptr;
}

// The assertion inside `enc`: its EncryptedKey's CipherValue goes to
// `unwrap` (the monitor), and xmlsec decrypts the EncryptedData with the
// AES key that comes back, as Lasso's own decryption does with a private
// key. Null with `why` set when anything is off.
LassoNode* decrypt_assertion(LassoSaml2EncryptedElement* enc, const SamlSp::Unwrap& unwrap, std::string& why) {
  why = "the encrypted assertion is malformed";
  if (!enc || !enc->EncryptedData || !unwrap) return nullptr;
  xmlNode* key_node = nullptr;
  for (GList* k = enc->EncryptedKey; k && !key_node; k = k->next)
    if (auto* n = static_cast<xmlNode*>(k->data); n && n->name && xmlStrEqual(n->name, BAD_CAST "EncryptedKey"))
      key_node = n;
  if (!key_node) key_node = child(child(enc->EncryptedData, "KeyInfo", xmlSecDSigNs), "EncryptedKey", xmlSecEncNs);
  if (!key_node) return nullptr;
  if (attribute(child(key_node, "EncryptionMethod", xmlSecEncNs), "Algorithm") != kRsaOaep) {
    why = "the assertion's key is not wrapped with RSA-OAEP";
    return nullptr;
  }
  const std::string data_alg = attribute(xmlSecTmplEncDataGetEncMethodNode(enc->EncryptedData), "Algorithm");
  if (data_alg.find("#aes") == std::string::npos) {
    why = "the assertion is not encrypted with AES";
    return nullptr;
  }
  xmlChar* text = xmlNodeGetContent(child(child(key_node, "CipherData", xmlSecEncNs), "CipherValue", xmlSecEncNs));
  std::string b64 = text ? reinterpret_cast<const char*>(text) : "";
  xmlFree(text);
  std::string clean;
  for (char c : b64)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') clean += c;
  std::string wrapped = decoded(clean);
  if (wrapped.empty() || wrapped.size() > keys::kMaxWrappedKey) return nullptr;
  auto aes = unwrap(wrapped);
  why = "the assertion is not encrypted to our key";
  if (!aes.ok()) return nullptr;
  xmlSecKeyPtr sym = xmlSecKeyReadMemory(xmlSecKeyDataAesId, reinterpret_cast<const xmlSecByte*>(aes->data()),
                                               aes->size());
  sodium_memzero(aes->data(), aes->size());
  if (!sym) return nullptr;
  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlDocSetRootElement(doc, xmlCopyNode(enc->EncryptedData, 1));
  xmlSecEncCtxPtr ctx = xmlSecEncCtxCreate(nullptr);
  LassoNode* out = nullptr;
  if (ctx) {
    ctx->encKey = sym;  // the context owns it from here
    sym = nullptr;
    ctx->mode = xmlEncCtxModeEncryptedData;
    if (xmlSecEncCtxDecrypt(ctx, xmlDocGetRootElement(doc)) == 0 && ctx->result && doc->children)
      out = lasso_node_new_from_xmlNode(xmlDocGetRootElement(doc));
    xmlSecEncCtxDestroy(ctx);
  }
  if (sym) xmlSecKeyDestroy(sym);
  xmlFreeDoc(doc);
  if (out && !LASSO_IS_SAML2_ASSERTION(out)) {
    g_object_unref(out);
    out = nullptr;
  }
  if (!out) why = "the encrypted assertion does not decrypt to an assertion";
  return out;
}

Error refused(const std::string& code, const std::string& detail) { return make_error(code, detail); }

}  // namespace

Result<SamlSpConfig> saml_sp_config(const DataDir& data, const Settings& s) {
  SamlSpConfig c;
  KP_ENSURE(!s.eherkenning_entity_id.empty() && !s.eherkenning_base_url.empty(), "eh-config-invalid",
            "set eherkenning_entity_id and eherkenning_base_url in " + data.settings());
  c.entity_id = s.eherkenning_entity_id;
  std::string base = s.eherkenning_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  c.acs_url = base + "/eherkenning/acs";
  KP_TRY(c.cert_pem, keys::saml_sp_certificate(data));
  if (!s.eherkenning_broker_metadata.empty()) {
    std::ifstream in(s.eherkenning_broker_metadata);
    KP_ENSURE(in, "eh-config-invalid", "cannot read the broker's metadata " + s.eherkenning_broker_metadata);
    std::ostringstream text;
    text << in.rdbuf();
    c.broker_metadata = text.str();
  }
  c.service_id = s.eherkenning_service_id;
  c.service_uuid = s.eherkenning_service_uuid;
  c.min_class_ref = std::string(policy::kLoaPrefix) + s.eherkenning_min_level;
  c.clock_skew_seconds = s.eherkenning_clock_skew_seconds;
  return c;
}

Result<std::string> sp_metadata(const SamlSpConfig& c) {
  KP_TRY(std::string cert, keys::certificate_base64(c.cert_pem));
  auto key = [&](const char* use) {
    return std::string("    <md:KeyDescriptor use=\"") + use +
           "\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>" + cert +
           "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n";
  };
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                     "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"") +
         attr_escape(c.entity_id) +
         "\">\n  <md:SPSSODescriptor AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\" "
         "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n" +
         key("signing") + key("encryption") +
         "    <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"" +
         attr_escape(c.acs_url) +
         "\" index=\"0\" isDefault=\"true\"/>\n"
         "    <md:AttributeConsumingService index=\"0\" isDefault=\"true\">\n"
         "      <md:ServiceName xml:lang=\"nl\">" +
         attr_escape(c.service_id) + "</md:ServiceName>\n      <md:ServiceDescription xml:lang=\"nl\">ServiceUUID " +
         attr_escape(c.service_uuid) +
         "</md:ServiceDescription>\n"
         "      <md:RequestedAttribute Name=\"urn:etoegang:core:ServiceUUID\" isRequired=\"true\">"
         "<saml:AttributeValue xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">" +
         attr_escape(c.service_uuid) +
         "</saml:AttributeValue></md:RequestedAttribute>\n"
         "    </md:AttributeConsumingService>\n  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n";
}

Result<std::unique_ptr<SamlSp>> SamlSp::load(const SamlSpConfig& c) {
  static std::once_flag once;
  std::call_once(once, [] { lasso_init(); });
  KP_TRY(std::string md, sp_metadata(c));
  std::unique_ptr<SamlSp> sp(new SamlSp);
  sp->config_ = c;
  LassoServer* server = lasso_server_new_from_buffers(md.c_str(), c.key_pem.empty() ? nullptr : c.key_pem.c_str(),
                                                      nullptr, c.key_pem.empty() ? nullptr : c.cert_pem.c_str());
  KP_ENSURE(server, "eh-config-invalid",
            c.key_pem.empty() ? "Lasso refused our SP metadata" : "Lasso refused our SP metadata or key");
  sp->server_ = server;
  server->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
  int rc = lasso_server_add_provider_from_buffer(server, LASSO_PROVIDER_ROLE_IDP, c.broker_metadata.c_str(),
                                                 nullptr, nullptr);
  KP_ENSURE(rc == 0, "eh-config-invalid",
            std::string("Lasso refused the broker's metadata: ") + lasso_strerror(rc));
  GList* ids = g_hash_table_get_keys(server->providers);
  KP_ENSURE(ids && !ids->next, "eh-config-invalid", "the broker's metadata must name exactly one entity");
  sp->broker_id_ = static_cast<const char*>(ids->data);
  g_list_free(ids);
  for (const auto& cert : certificates_in(c.broker_metadata)) sp->broker_cert_ += cert + "\n";
  KP_TRY(sp->own_cert_, keys::certificate_base64(c.cert_pem));
  KP_ENSURE(!sp->broker_cert_.empty(), "eh-config-invalid", "the broker's metadata has no certificate");
  return sp;
}

SamlSp::~SamlSp() {
  if (server_) g_object_unref(server_);
}

Result<SamlSp::AuthnRequest> SamlSp::authn_request() {
  KP_ENSURE(!config_.key_pem.empty(), "eh-config-invalid", "the SP key is not loaded here (only the monitor signs)");
  std::lock_guard<std::mutex> lock(mu_);
  LoginPtr login(lasso_login_new(static_cast<LassoServer*>(server_)));
  KP_ENSURE(login, "eh-config-invalid", "Lasso cannot start a login");
  LassoProfile* profile = LASSO_PROFILE(login.get());
  lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
  int rc = lasso_login_init_authn_request(login.get(), broker_id_.c_str(), LASSO_HTTP_METHOD_REDIRECT);
  KP_ENSURE(rc == 0, "eh-config-invalid", std::string("AuthnRequest: ") + lasso_strerror(rc));
  auto* req = LASSO_SAMLP2_AUTHN_REQUEST(profile->request);
  auto assign = [](char*& field, const std::string& value) {
    g_free(field);
    field = g_strdup(value.c_str());
  };
  assign(req->ProtocolBinding, LASSO_SAML2_METADATA_BINDING_POST);
  assign(req->AssertionConsumerServiceURL, config_.acs_url);
  req->AttributeConsumingServiceIndex = 0;
  auto* context = LASSO_SAMLP2_REQUESTED_AUTHN_CONTEXT(lasso_samlp2_requested_authn_context_new());
  context->AuthnContextClassRef = g_list_append(nullptr, g_strdup(config_.min_class_ref.c_str()));
  assign(context->Comparison, "minimum");
  if (req->RequestedAuthnContext) g_object_unref(req->RequestedAuthnContext);
  req->RequestedAuthnContext = context;
  // Lasso deflates, encodes and signs the HTTP-Redirect query (SAMLRequest,
  // SigAlg, Signature) with the server's key.
  rc = lasso_login_build_authn_request_msg(login.get());
  KP_ENSURE(rc == 0 && profile->msg_url, "eh-config-invalid",
            std::string("cannot sign the AuthnRequest: ") + lasso_strerror(rc));
  std::string url = profile->msg_url;
  KP_ENSURE(url.find("&Signature=") != std::string::npos, "eh-config-invalid", "Lasso did not sign the AuthnRequest");
  const char* id = LASSO_SAMLP2_REQUEST_ABSTRACT(req)->ID;
  KP_ENSURE(id && *id, "eh-config-invalid", "Lasso gave the AuthnRequest no ID");
  return AuthnRequest{url, id};
}

Result<std::string> SamlSp::unwrap(std::string_view wrapped) const {
  KP_ENSURE(!config_.key_pem.empty(), "eh-decryption-failed", "the SP key is not loaded here");
  return keys::saml_sp_unwrap(config_.key_pem, wrapped);
}

Result<policy::LoginFacts> SamlSp::verify(const std::string& saml_response, int64_t now_ms, const Unwrap& unwrap) {
  if (saml_response.empty()) return refused("eh-response-missing", "no SAMLResponse was posted");
  std::lock_guard<std::mutex> lock(mu_);
  auto* server = static_cast<LassoServer*>(server_);
  LoginPtr login(lasso_login_new(server));
  KP_ENSURE(login, "eh-response-invalid", "Lasso cannot start a login");
  LassoProfile* profile = LASSO_PROFILE(login.get());
  lasso_profile_set_signature_verify_hint(profile, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_FORCE);
  std::string b64 = saml_response;
  int rc = lasso_login_process_authn_response_msg(login.get(), b64.data());
  auto key_unknown = [&] {
    // Our own certificate may name the key an assertion is encrypted to;
    // it says nothing about who signed.
    auto sent = certificates_in(decoded(saml_response));
    std::erase(sent, own_cert_);
    if (sent.empty()) return false;
    for (const auto& c : sent)
      if (broker_cert_.find(c + "\n") != std::string::npos) return false;
    return true;
  };
  // An encrypted assertion: Lasso (no key in this process) verified the
  // Response's signature and then found no assertion it could read. The
  // Response's signature decides here; the assertion is decrypted below.
  if (rc == LASSO_PROFILE_ERROR_MISSING_ASSERTION && LASSO_IS_SAMLP2_RESPONSE(profile->response) &&
      LASSO_SAMLP2_RESPONSE(profile->response)->EncryptedAssertion)
    rc = profile->signature_status;
  if (rc != 0) {
    const std::string why = lasso_strerror(rc);
    switch (rc) {
      case LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS:
        return refused("eh-broker-refused", "the broker did not authenticate the person: " + why);
      case LASSO_PROFILE_ERROR_UNKNOWN_PROVIDER:
      case LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND:
      case LASSO_PROFILE_ERROR_MISSING_ISSUER:
        return refused("eh-issuer-unknown", "the response was not issued by the configured broker: " + why);
      case LASSO_DS_ERROR_SIGNATURE_NOT_FOUND:
        return refused("eh-unsigned", "the response is not signed: " + why);
      case LASSO_DS_ERROR_INVALID_SIGNATURE:
      case LASSO_DS_ERROR_SIGNATURE_VERIFICATION_FAILED:
      case LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE:
      case LASSO_DS_ERROR_INVALID_REFERENCE_FOR_SAML:
        if (key_unknown()) return refused("eh-signature-key-unknown", "the response is signed by a key that is not the broker's");
        return refused("eh-signature-invalid", "the broker's signature does not verify: " + why);
      default:
        return refused("eh-response-invalid", "not a SAML response we accept: " + why);
    }
  }
  KP_ENSURE(profile->signature_status == 0, "eh-signature-invalid", "the response's signature did not verify");
  auto* response = LASSO_SAMLP2_RESPONSE(profile->response);
  KP_ENSURE(response, "eh-response-invalid", "not a SAML response");
  // Exactly one assertion: in the clear, or encrypted to our key.
  const int clear = static_cast<int>(g_list_length(response->Assertion));
  const int encrypted = static_cast<int>(g_list_length(response->EncryptedAssertion));
  KP_ENSURE(clear + encrypted == 1, "eh-response-invalid", "the response must carry exactly one assertion");
  std::unique_ptr<LassoNode, GObjectUnref> decrypted;
  LassoSaml2Assertion* assertion = nullptr;
  if (encrypted) {
    std::string why;
    decrypted.reset(decrypt_assertion(LASSO_SAML2_ENCRYPTED_ELEMENT(response->EncryptedAssertion->data), unwrap, why));
    if (!decrypted) return refused("eh-decryption-failed", why);
    assertion = LASSO_SAML2_ASSERTION(decrypted.get());
  } else {
    KP_ENSURE(LASSO_IS_SAML2_ASSERTION(response->Assertion->data), "eh-response-invalid", "not an assertion");
    assertion = LASSO_SAML2_ASSERTION(response->Assertion->data);
  }
  LassoProvider* broker = lasso_server_get_provider(server, broker_id_.c_str());
  KP_ENSURE(broker, "eh-issuer-unknown", "the broker is not loaded");
  KP_ENSURE(assertion->Issuer && assertion->Issuer->content && broker_id_ == assertion->Issuer->content,
            "eh-issuer-unknown", "the assertion was not issued by the configured broker");
  // Lasso trusts an assertion covered by the Response's signature; the
  // eHerkenning profile wants the assertion signed itself as well.
  rc = lasso_provider_verify_single_node_signature(broker, LASSO_NODE(assertion), "ID");
  if (rc == LASSO_DS_ERROR_SIGNATURE_NOT_FOUND)
    return refused("eh-unsigned", "the assertion is not signed by the broker");
  if (rc != 0) return refused("eh-signature-invalid", std::string("the assertion's signature: ") + lasso_strerror(rc));
  KP_ENSURE(lasso_saml2_assertion_has_audience_restriction(assertion) &&
                lasso_saml2_assertion_validate_audience(assertion, config_.entity_id.c_str()) ==
                    LASSO_SAML2_ASSERTION_VALID,
            "eh-audience-wrong", "the assertion is not meant for " + config_.entity_id);
  const int64_t skew = config_.clock_skew_seconds * 1000;
  auto* cond = assertion->Conditions;
  const int64_t not_after = cond ? saml_time_ms(cond->NotOnOrAfter) : -1;
  const int64_t not_before = cond && cond->NotBefore ? saml_time_ms(cond->NotBefore) : 0;
  KP_ENSURE(not_after > 0 && not_before >= 0, "eh-response-invalid", "the assertion has no valid time window");
  KP_ENSURE(now_ms < not_after + skew, "eh-expired", "the assertion expired");
  KP_ENSURE(now_ms + skew >= not_before, "eh-not-yet-valid", "the assertion is not valid yet");

  policy::LoginFacts f;
  // The request this answers: the Response's InResponseTo, and the bearer
  // confirmation's, which must agree when both are given.
  const char* to = LASSO_SAMLP2_STATUS_RESPONSE(response)->InResponseTo;
  f.in_response_to = to ? to : "";
  if (assertion->Subject && assertion->Subject->SubjectConfirmation &&
      assertion->Subject->SubjectConfirmation->SubjectConfirmationData) {
    const char* confirmed = assertion->Subject->SubjectConfirmation->SubjectConfirmationData->InResponseTo;
    if (confirmed && *confirmed) {
      KP_ENSURE(f.in_response_to.empty() || f.in_response_to == confirmed, "eh-response-invalid",
                "the response and its assertion answer different requests");
      f.in_response_to = confirmed;
    }
  }
  KP_ENSURE(f.in_response_to.size() <= policy::kMaxAssertionIdBytes, "eh-response-invalid",
            "the InResponseTo is too long");
  f.assertion_id = assertion->ID ? assertion->ID : "";
  f.expires_ms = not_after + skew;
  for (GList* s = assertion->AuthnStatement; s; s = s->next) {
    auto* st = LASSO_SAML2_AUTHN_STATEMENT(s->data);
    if (st->AuthnContext && st->AuthnContext->AuthnContextClassRef) f.level = st->AuthnContext->AuthnContextClassRef;
  }
  for (GList* s = assertion->AttributeStatement; s; s = s->next) {
    for (GList* a = LASSO_SAML2_ATTRIBUTE_STATEMENT(s->data)->Attribute; a; a = a->next) {
      auto* attr = LASSO_SAML2_ATTRIBUTE(a->data);
      if (!attr->Name) continue;
      auto values = values_of(attr);
      if (values.size() != 1) continue;
      const std::string name = attr->Name;
      if (name == policy::kLegalSubjectId) {
        f.org_kind = policy::org_kind_of_qualifier(values[0].qualifier).value_or("");
        f.org_number = values[0].text;
      } else if (name == policy::kActingSubjectId) {
        f.pseudonym = values[0].text;
      } else if (name == policy::kIntermediateId) {
        f.intermediary = values[0].text;
      }
    }
  }
  if (f.pseudonym.empty() && assertion->Subject && assertion->Subject->NameID && assertion->Subject->NameID->content)
    f.pseudonym = assertion->Subject->NameID->content;
  KP_ENSURE(!f.level.empty() && !f.org_number.empty() && !f.org_kind.empty() && !f.pseudonym.empty(),
            "eh-attribute-missing",
            "the assertion lacks the level, the represented organisation (KvKnr/RSIN) or the acting person");
  return f;
}

}  // namespace kp::gateway
