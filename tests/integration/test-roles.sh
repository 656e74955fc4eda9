#!/bin/bash
# Roles and memberships (apicrud's get_roles / update_auth): cumulative
# levels, the default resource, ids with '-', removal; login tokens that
# carry membership roles; UpdateAuth refreshing and revoking; who may call
# what; 10,000 memberships of one user; apicrud's two-step registration;
# the sauthctl verbs.
. "$(dirname "$0")/lib.sh"

PW="correct horse battery staple"

# roles_of UID MODEL RESOURCE ID — GetRoles as root, space-separated.
roles_of() {
        sa_call GetRoles ssss "$@" | jq -r '.data[0] | join(" ")'
}

member() {
        sa_call SetMembership sssss "$@" > /dev/null
}

token_of() {
        sa_login "$1" "$2" | jget jwt_token
}

# update_auth TOKEN MODEL ID RESOURCE FORCE — the reply as JSON.
update_auth() {
        sa_call UpdateAuth ssssb "$@"
}

audit_count() {
        grep -cE "SAUTH_EVENT=$1( |$)" "$T/sauthd.log" || true
}

test_levels_are_cumulative() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW")
        member list_member "" 42 "$uid" manager
        expect_eq "$(roles_of "$uid" list_member "" 42)" "list-42-invitee list-42-member list-42-manager" "manager of list 42"
        # The resource named explicitly is the same membership.
        expect_eq "$(roles_of "$uid" list_member list 42)" "list-42-invitee list-42-member list-42-manager" "resource list"
        member list_member "" 7 "$uid" invitee
        member list_member "" 9 "$uid" secret
        member list_member "" 11 "$uid" public
        expect_eq "$(roles_of "$uid" list_member "" 7)" "list-7-invitee" "invitee"
        expect_eq "$(roles_of "$uid" list_member "" 9)" \
                "list-9-invitee list-9-member list-9-manager list-9-secret" "secret"
        expect_eq "$(roles_of "$uid" list_member "" 11)" "" "public yields none"
        # Every id of the model and resource, in id order.
        expect_eq "$(roles_of "$uid" list_member "" "")" \
                "list-42-invitee list-42-member list-42-manager list-7-invitee list-9-invitee list-9-member list-9-manager list-9-secret" \
                "all lists"
        # Ids may hold '-'.
        member list_member "" "x-00ff-1" "$uid" member
        expect_eq "$(roles_of "$uid" list_member "" "x-00ff-1")" "list-x-00ff-1-invitee list-x-00ff-1-member" "id with -"
        # Another model and resource; an empty model lists every membership.
        member event_member event e1 "$uid" member
        expect_eq "$(roles_of "$uid" event_member event e1)" "event-e1-invitee event-e1-member" "event"
        expect_eq "$(roles_of "$uid" event_member "" "")" "" "event model, default resource list"
        expect_match "$(roles_of "$uid" "" "" "")" "^event-e1-invitee event-e1-member list-" "every membership"
        # A level changes in place; removal takes the roles away.
        member list_member "" 42 "$uid" invitee
        expect_eq "$(roles_of "$uid" list_member "" 42)" "list-42-invitee" "level lowered"
        member list_member "" 42 "$uid" ""
        expect_eq "$(roles_of "$uid" list_member "" 42)" "" "removed"
        expect_eq "$(sa_error SetMembership list_member "" 42 "$uid" "")" NotFound "removed twice"
        expect_eq "$(audit_count membership_set)" 7 "membership_set records"
        expect_eq "$(audit_count membership_remove)" 2 "membership_remove records"
}

test_set_membership_refuses() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW")
        expect_eq "$(sa_error SetMembership list_member "" 42 "$uid" owner)" InvalidArgument "unknown level"
        expect_eq "$(sa_error SetMembership List "" 42 "$uid" member)" InvalidArgument "model not [a-z0-9_]"
        expect_eq "$(sa_error SetMembership list_member "li st" 42 "$uid" member)" InvalidArgument "bad resource"
        expect_eq "$(sa_error SetMembership list_member "" "4 2" "$uid" member)" InvalidArgument "blank in id"
        expect_eq "$(sa_error SetMembership list_member "" "" "$uid" member)" InvalidArgument "empty id"
        expect_eq "$(sa_error SetMembership list_member "" "$(printf 'i%.0s' $(seq 1 121))" "$uid" member)" \
                InvalidArgument "id too long"
        expect_eq "$(sa_error SetMembership "$(printf 'm%.0s' $(seq 1 65))" "" 1 "$uid" member)" \
                InvalidArgument "model too long"
        expect_eq "$(sa_error SetMembership list_member "" 42 x-0000000000000000 member)" NotFound "no account"
        expect_eq "$(sa_error GetRoles "$uid" "" "" 42)" InvalidArgument "id without a model"
        expect_eq "$(sa_error GetRoles "$uid" "Bad" "" "")" InvalidArgument "bad model"
}

test_custom_levels_and_resource() {
        sa_setup "roles.privacy_levels=public reader writer" "roles.resource=group"
        local uid
        uid=$(sa_user alice "$PW")
        member group_member "" 7 "$uid" writer
        expect_eq "$(roles_of "$uid" group_member "" 7)" "group-7-reader group-7-writer" "custom levels"
        expect_eq "$(sa_error SetMembership group_member "" 7 "$uid" manager)" InvalidArgument "manager is not a level here"
}

test_bad_levels_config_refused() {
        sa_prepare "roles.privacy_levels=public Member"
        sa_start_bus
        local rc=0
        env "${NSS_ENV[@]}" timeout 20 "$SAUTHD" --address "$BUS_ADDRESS" --config "$T/sauthd.conf" \
                >> "$T/sauthd.log" 2>&1 || rc=$?
        expect_ne "$rc" 0 "sauthd with a bad privacy_levels"
        expect_match "$(cat "$T/sauthd.log")" "privacy_levels" "names the key"
}

test_login_token_carries_membership_roles() {
        sa_setup
        local uid reply tok
        uid=$(sa_user alice "$PW")
        member list_member "" 42 "$uid" manager
        member event_member event e-1 "$uid" invitee
        reply=$(sa_login alice "$PW")
        expect_eq "$(jget roles <<<"$reply")" \
                "user event-e-1-invitee list-42-invitee list-42-member list-42-manager" "login roles"
        tok=$(jget jwt_token <<<"$reply")
        expect_eq "$(sa_call VerifyToken s "$tok" | jget roles)" "$(jget roles <<<"$reply")" "token roles"
}

test_update_auth_refresh() {
        sa_setup
        local uid t1 t2 t3 exp1 reply
        uid=$(sa_user alice "$PW")
        t1=$(token_of alice "$PW")
        exp1=$(sa_call VerifyToken s "$t1" | jget expires)
        sleep 1.1   # a new token would have another iat: the expiry must not follow it
        member list_member "" 42 "$uid" member

        # The token lacks list-42-invitee: refreshed, the old one revoked.
        reply=$(update_auth "$t1" list_member 42 "" false)
        t2=$(jget jwt_token <<<"$reply")
        expect_ne "$t2" "$t1" "a new token"
        expect_eq "$(jget refreshed <<<"$reply")" true "refreshed"
        expect_eq "$(jget roles <<<"$reply")" "user list-42-invitee list-42-member" "roles after refresh"
        expect_eq "$(sa_call VerifyToken s "$t2" | jget roles)" "user list-42-invitee list-42-member" "new token's roles"
        expect_eq "$(sa_call VerifyToken s "$t2" | jget expires)" "$exp1" "same expiry"
        expect_eq "$(jget expires <<<"$reply")" "$exp1" "reply expiry"
        expect_eq "$(sa_error VerifyToken "$t1")" InvalidToken "old token revoked"

        # It has the role now: the same token back.
        reply=$(update_auth "$t2" list_member 42 "" false)
        expect_eq "$(jget jwt_token <<<"$reply")" "$t2" "same token"
        expect_eq "$(jget refreshed <<<"$reply")" false "not refreshed"

        # Removed membership: only force notices, and the roles go.
        member list_member "" 42 "$uid" ""
        reply=$(update_auth "$t2" list_member 42 "" false)
        expect_eq "$(jget jwt_token <<<"$reply")" "$t2" "no force, still the role"
        reply=$(update_auth "$t2" list_member 42 "" true)
        t3=$(jget jwt_token <<<"$reply")
        expect_ne "$t3" "$t2" "forced"
        expect_eq "$(jget roles <<<"$reply")" "user" "removed roles disappear"
        expect_eq "$(sa_call VerifyToken s "$t3" | jget roles)" "user" "token without them"
        expect_eq "$(sa_call VerifyToken s "$t3" | jget expires)" "$exp1" "same expiry again"
        expect_eq "$(sa_error VerifyToken "$t2")" InvalidToken "second token revoked"
        # Still one session listed.
        expect_eq "$(sa_call ListSessions s "$uid" | jq '.data[0].sessions.data | length')" 1 "one session"
        expect_eq "$(audit_count roles_refresh)" 2 "roles_refresh records"

        expect_eq "$(sa_error UpdateAuth "$t2" list_member 42 "" true)" InvalidToken "revoked token"
        expect_eq "$(sa_error UpdateAuth "not-a-token" list_member 42 "" false)" InvalidToken "garbage"
        expect_eq "$(sa_error UpdateAuth "$t3" list_member "" "" false)" InvalidArgument "no id without force"
}

test_access_rows() {
        sa_setup
        local uid bob_uid tok
        uid=$(sa_user alice "$PW")
        bob_uid=$(sa_user bob "$PW")
        member list_member "" 42 "$uid" member
        # GetRoles: root, an admin-group member, self; not another user.
        expect_eq "$(roles_of "$uid" list_member "" 42)" "list-42-invitee list-42-member" "as root"
        expect_eq "$(sa_call_as 4244 GetRoles ssss "$uid" list_member "" 42 | jq -r '.data[0] | join(" ")')" \
                "list-42-invitee list-42-member" "as an admin-group member"
        expect_eq "$(sa_call_as 4242 GetRoles ssss "$uid" list_member "" 42 | jq -r '.data[0] | join(" ")')" \
                "list-42-invitee list-42-member" "as self"
        expect_eq "$(sa_error_as 4243 GetRoles "$uid" list_member "" 42)" AccessDenied "as another user"
        # SetMembership: admins only.
        sa_call_as 4244 SetMembership sssss list_member "" 43 "$uid" member > /dev/null || fail "admin-group SetMembership"
        expect_eq "$(sa_error_as 4242 SetMembership list_member "" 44 "$uid" manager)" AccessDenied "self may not"
        expect_eq "$(sa_error_as 4243 SetMembership list_member "" 44 "$uid" manager)" AccessDenied "another user may not"
        expect_eq "$(roles_of "$uid" list_member "" 44)" "" "nothing set by the refused calls"
        # UpdateAuth: whoever holds a valid token (a web back end).
        tok=$(token_of alice "$PW")
        expect_eq "$(sa_call_as 4243 UpdateAuth ssssb "$tok" list_member 43 "" false | jget roles)" \
                "user list-42-invitee list-42-member list-43-invitee list-43-member" "as another user, with the token"
        expect_eq "$(sa_error_as 4243 UpdateAuth "x.y.z" list_member 43 "" false)" InvalidToken "no valid token"
        expect_match "$(cat "$T/sauthd.log")" "SAUTH_EVENT=access_denied" "denials audited"
}

test_update_auth_rate_limited() {
        sa_setup
        local through limited
        # Each call before the limit is refused for its token, then the limit.
        read -r through limited < <(BURST_THROUGH=InvalidToken sa_burst 4243 UpdateAuth ssssb 150 \
                "x.y.z" list_member 1 "" false)
        expect_eq "$limited" RateLimited "UpdateAuth after a burst of $through"
        [ "$through" -ge 5 ] || fail "limited after only $through calls"
        expect_eq "$(sa_error UpdateAuth "x.y.z" list_member 1 "" false)" InvalidToken "another uid is not limited"
}

test_many_memberships() {
        sa_setup
        local uid reply tok n
        uid=$(sa_user alice "$PW")
        sa_stop_daemon
        # Straight into the store while sauthd is stopped: 10,000 calls
        # would test the bus, not the roles.
        sqlite3 "$T/sauth.db" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)
                INSERT INTO memberships (uid, member_model, resource, resource_id, level, status, created)
                SELECT '$uid', 'list_member', 'list', 'id-' || i, 'member', 'active', 0 FROM c;"
        sa_start_daemon
        n=$(sa_call GetRoles ssss "$uid" list_member "" "" | jq '.data[0] | length')
        expect_eq "$n" 20000 "roles of 10,000 memberships"
        expect_eq "$(roles_of "$uid" list_member "" id-9999)" "list-id-9999-invitee list-id-9999-member" "one of them"
        # The login still works; the token says the roles were left out.
        reply=$(sa_login alice "$PW")
        expect_eq "$(jget roles <<<"$reply")" "user roles-omitted" "login roles"
        tok=$(jget jwt_token <<<"$reply")
        expect_eq "$(sa_call VerifyToken s "$tok" | jget roles)" "user roles-omitted" "token roles"
        sa_pam_service sauth-test
        printf '%s\n' "$PW" | sa_pam sauth-test alice authenticate > "$T/pam.out" || fail "PAM login: $(cat "$T/pam.out")"
}

test_long_roles_fall_back() {
        sa_setup
        local uid i id
        uid=$(sa_user alice "$PW")
        # 60 memberships of 120-character ids: under 128 roles, over the
        # token's 8 KiB.
        for i in $(seq 10 69); do
                id="$i$(printf 'x%.0s' $(seq 1 118))"
                member list_member "" "$id" "$uid" invitee
        done
        expect_eq "$(sa_login alice "$PW" | jget roles)" "user roles-omitted" "too big a token"
}

# apicrud's sequence: register (no user name) -> account_add ->
# change_password with the mailed token -> login.
test_two_step_registration() {
        sa_setup
        local reply uid tok f
        reply=$(sa_call Register sssss bob@example.org "" "Bob Dylan" "" "")
        uid=$(jget uid <<<"$reply")
        expect_match "$uid" '^x-[0-9a-f]{16}$' "uid"
        expect_match "$(jget contact_id <<<"$reply")" '^x-' "contact_id"
        expect_eq "$(jget account_id <<<"$reply")" "" "no account yet"
        expect_eq "$(sa_wait_mails 1)" 1 "confirmation mailed"
        tok=$(sa_mailed_token bob@example.org)
        f=$(ls "$T"/mail/*.eml | head -n 1)
        expect_match "$(cat "$f")" "^Subject: Confirm your new account$" "subject"
        expect_no_match "$(cat "$f")" "\{\{|named  |account  " "no empty user name in the text"
        expect_match "$(cat "$f")" "--uid $uid" "uid in the mail"
        # No account: the token cannot be used yet, and is not spent.
        expect_eq "$(sa_error ChangePassword "$uid" "$PW" "$tok" "" "$PW")" NotFound "no account yet"
        expect_eq "$(sa_error Register bob@example.org "" "Bob" "" "")" AlreadyRegistered "identity taken"

        reply=$(sa_call AccountAdd ss bob "$uid")
        expect_eq "$(jget username <<<"$reply")" bob "AccountAdd username"
        expect_eq "$(jget uid <<<"$reply")" "$uid" "AccountAdd uid"
        sleep 0.3
        expect_eq "$(sa_mail_count)" 1 "AccountAdd mails nothing"
        expect_eq "$(sa_call AccountStatus s bob | jget password_must_change)" true "no password yet"

        sa_call ChangePassword sssss "$uid" "$PW" "$tok" "" "$PW" > /dev/null
        reply=$(sa_login bob "$PW")
        expect_eq "$(jget uid <<<"$reply")" "$uid" "login uid"
        expect_eq "$(jget roles <<<"$reply")" "user" "confirmed by the token"
        expect_eq "$(sa_error ChangePassword "$uid" "$PW" "$tok" "" "$PW")" InvalidToken "token spent"
}

test_base_roles() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW")
        expect_eq "$(sa_login alice "$PW" | jget roles)" "user" "confirmed, active"
        sa_call ExpirePassword s alice > /dev/null
        expect_eq "$(sa_login alice "$PW" | jget roles)" "user person pwchange" "must change"
        sa_call SetAccountAdmin sb alice true > /dev/null
        expect_eq "$(sa_login alice "$PW" | jget roles)" "admin user person pwchange" "admin, must change"
}

ctl() {
        local rc=0
        OUT=$("$SAUTHCTL" --address "$BUS_ADDRESS" "$@" 2> "$T/ctl.err") || rc=$?
        CERR=$(cat "$T/ctl.err")
        RC=$rc
}

test_sauthctl_roles_and_members() {
        sa_setup
        local uid
        uid=$(sa_user alice "$PW")
        ctl member add alice list_member 42 manager
        expect_eq "$RC" 0 "member add: $CERR"
        ctl member add alice event_member e-1 member --resource event
        expect_eq "$RC" 0 "member add --resource"
        ctl roles alice --model list_member --id 42
        expect_eq "$RC" 0 "roles"
        expect_eq "$OUT" "$(printf 'list-42-invitee\nlist-42-member\nlist-42-manager')" "roles, one per line"
        ctl --json roles alice
        expect_eq "$(jq -r '.roles | join(" ")' <<<"$OUT")" \
                "event-e-1-invitee event-e-1-member list-42-invitee list-42-member list-42-manager" "roles --json"
        expect_eq "$(jq -r '.uid' <<<"$OUT")" "$uid" "uid in --json"
        ctl --json roles alice --model event_member --resource event
        expect_eq "$(jq -r '.roles | length' <<<"$OUT")" 2 "roles --model --resource"
        ctl member remove alice event_member e-1 --resource event
        expect_eq "$RC" 0 "member remove"
        ctl member remove alice event_member e-1 --resource event
        expect_eq "$RC" 1 "member remove twice"
        expect_match "$CERR" "NotFound" "not found"
        ctl member add alice list_member 42 owner
        expect_eq "$RC" 1 "unknown level"
        ctl member frob alice
        expect_eq "$RC" 2 "unknown member verb"
        ctl roles alice --id 42
        expect_eq "$RC" 2 "--id without --model"
        ctl roles nobody-here
        expect_eq "$RC" 1 "unknown user"
        # Self may read, not change.
        OUT=$(setpriv --reuid=4242 --regid=4242 --clear-groups "$SAUTHCTL" --address "$BUS_ADDRESS" roles alice) \
                || fail "self roles"
        expect_eq "$OUT" "$(printf 'list-42-invitee\nlist-42-member\nlist-42-manager')" "self"
        if setpriv --reuid=4242 --regid=4242 --clear-groups "$SAUTHCTL" --address "$BUS_ADDRESS" \
                member add alice list_member 1 member 2> /dev/null; then
                fail "self may not add memberships"
        fi
}

sa_main "$@"
