// The subcommand handlers. Each takes the arguments after its command words,
// parsed by the spec in commands.cpp, and returns the exit status.
#pragma once

#include "cli/args.h"

namespace kp::cli {

int cmd_init(const Args& a);
int cmd_serve(const Args& a);
int cmd_municipality_add(const Args& a);
int cmd_municipality_list(const Args& a);
int cmd_municipality_recipients(const Args& a);
int cmd_person_add(const Args& a);
int cmd_staff_add(const Args& a);
int cmd_auditor_add(const Args& a);
int cmd_auditor_token(const Args& a);
int cmd_person_list(const Args& a);
int cmd_staff_list(const Args& a);
int cmd_auditor_list(const Args& a);
int cmd_account_disable(const Args& a);
int cmd_ban_list(const Args& a);
int cmd_ban_lift(const Args& a);
int cmd_mandate_grant(const Args& a);
int cmd_mandate_revoke(const Args& a);
int cmd_mandate_list(const Args& a);
int cmd_keys_show(const Args& a);
int cmd_eherkenning_metadata(const Args& a);
int cmd_keys_rotate(const Args& a);
int cmd_keys_verify_announcement(const Args& a);
int cmd_worker(const Args& a);
int cmd_seal(const Args& a);
int cmd_open(const Args& a);
int cmd_audit_verify(const Args& a);
int cmd_audit_export(const Args& a);
int cmd_audit_proof(const Args& a);
int cmd_audit_monitor(const Args& a);
int cmd_witness(const Args& a);
int cmd_queue_list(const Args& a);
int cmd_queue_take(const Args& a);
int cmd_queue_decline(const Args& a);
int cmd_queue_close(const Args& a);
int cmd_sip_publish(const Args& a);
int cmd_request_send(const Args& a);
int cmd_retention_show(const Args& a);
int cmd_retention_sweep(const Args& a);
int cmd_manifest_check(const Args& a);
int cmd_manifest_init(const Args& a);
int cmd_receipt_verify(const Args& a);
int cmd_backup(const Args& a);
int cmd_restore(const Args& a);

}  // namespace kp::cli
