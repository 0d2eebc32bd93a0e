#!/bin/sh
# A stand-in for the MinIO client (mc RELEASE.2025-08-13T08-35-41Z): what it reproduces, and from which
# upstream file, is in fakeMc.ts beside this file.
set -eu
echo "$*" >> "$FAKE_MC_ROOT/calls.log"
json=0
for arg in "$@"; do [ "$arg" != --json ] || json=1; done
while [ $# -gt 0 ]; do
  case "$1" in --no-color | --quiet | --json) shift ;; *) break ;; esac
done
cmd=$1
shift

# mc's error output: 'mc: <ERROR> message cause' on stderr, or indented JSON on stdout with --json.
fail() {
  if [ "$json" = 1 ]; then
    printf '{\n "status": "error",\n "error": {\n  "message": "%s",\n  "cause": {\n   "message": "%s",\n   "error": {}\n  },\n  "type": "error"\n }\n}\n' "$1" "$2"
  else
    echo "mc: <ERROR> $1 $2" >&2
  fi
  exit 1
}

# Splits MC_HOST_<alias> as cmd/config.go parseEnvURLStr does, into $key, $secret and $token.
parse_host() {
  alias=$1
  eval "url=\${MC_HOST_$alias-}"
  if [ -z "$url" ]; then fail "Unable to initialize '$alias'." "No such alias '$alias' found."; fi
  case "$url" in
    http://*) rest=${url#http://} ;;
    https://*) rest=${url#https://} ;;
    *) fail "Unable to initialize '$alias'." "Invalid argument." ;;
  esac
  case "$url" in
    *"
"*) fail "Unable to initialize '$alias'." "net/url: invalid control character in URL." ;;
  esac
  key=
  secret=
  token=
  case "$rest" in
    *:*@*)
      userinfo=${rest%@*}
      key=${userinfo%%:*}
      after=${userinfo#*:}
      case "$after" in
        *:*) secret=${after%%:*}; token=${after#*:} ;;
        *) secret=$after ;;
      esac
      ;;
  esac
}

# The server behind an alias answers only the credentials it was started with (root), or those of a user added
# with `admin user add`; $principal is then "root" or the user's access key.
connect() {
  parse_host "$1"
  server="$FAKE_MC_ROOT/.servers/$1"
  if [ ! -d "$server" ]; then fail "Unable to connect to '$1'." "dial tcp: connect: connection refused."; fi
  if [ "$key" = "$(cat "$server/key")" ]; then
    principal=root
    expected=$(cat "$server/secret")
  elif [ -n "$key" ] && [ -f "$server/users/$key/secret" ]; then
    principal=$key
    expected=$(cat "$server/users/$key/secret")
  else
    fail "Unable to access '$1'." "The Access Key Id you provided does not exist in our records."
  fi
  if [ "$secret" != "$expected" ] || [ -n "$token" ]; then
    fail "Unable to access '$1'." "The request signature we calculated does not match the signature you provided. Check your key and signing method."
  fi
}
# The admin API answers only the root user here (a stackport user's policy has no admin: actions).
admin_connect() {
  connect "$1"
  if [ "$principal" != root ]; then fail "Unable to initialize admin connection." "Access Denied."; fi
}

# Resolves alias/bucket[/prefix] (credentials checked) or a local directory into $dir.
locate() {
  case "$1" in
    /*) dir=$1 ;;
    *) connect "${1%%/*}"; dir="$FAKE_MC_ROOT/$1" ;;
  esac
}
need_bucket() {
  locate "$1"
  if [ ! -d "$dir" ]; then fail "Unable to stat '$1'." "Bucket does not exist."; fi
}
meta() { mkdir -p "$FAKE_MC_ROOT/.meta/$1" && echo "$FAKE_MC_ROOT/.meta/$1"; }
keys() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }

case "$cmd" in
  ready)
    parse_host "$1"
    while [ ! -d "$FAKE_MC_ROOT/.servers/$1" ]; do
      echo "The cluster '$1' is unreachable: dial tcp: connect: connection refused"
      sleep "${FAKE_MC_READY_INTERVAL:-5}"
    done
    echo "The cluster '$1' is ready"
    ;;
  mb)
    ignore=0
    if [ "$1" = --ignore-existing ] || [ "$1" = -p ]; then ignore=1; shift; fi
    locate "$1"
    if [ -d "$dir" ]; then
      [ "$ignore" = 1 ] || fail "Unable to make bucket '$1'." "Your previous request to create the named bucket succeeded and you already own it."
    else
      mkdir -p "$dir"
    fi
    echo "Bucket created successfully '$1'."
    ;;
  version)
    sub=$1
    need_bucket "$2"
    state="$(meta "$2")/versioning"
    case "$sub" in
      enable) echo enabled > "$state"; echo "$2 versioning is enabled" ;;
      suspend) echo suspended > "$state"; echo "$2 versioning is suspended" ;;
      info)
        if [ -f "$state" ]; then echo "$2 versioning is $(cat "$state")"; else echo "$2 is un-versioned"; fi
        ;;
      *) echo "fake mc: unsupported version $sub" >&2; exit 2 ;;
    esac
    ;;
  ilm)
    [ "$1" = rule ] || { echo "fake mc: unsupported ilm $1" >&2; exit 2; }
    sub=$2
    shift 2
    for last in "$@"; do :; done
    need_bucket "$last"
    rules="$(meta "$last")/lifecycle.json"
    case "$sub" in
      import) cat > "$rules"; [ -s "$rules" ] || fail "Unable to import lifecycle." "EOF." ;;
      rm)
        [ -f "$rules" ] || fail "Unable to remove rules." "The lifecycle configuration does not exist."
        rm "$rules"
        ;;
      *) echo "fake mc: unsupported ilm rule $sub" >&2; exit 2 ;;
    esac
    ;;
  anonymous)
    [ "$1" = set ] || { echo "fake mc: unsupported anonymous $1" >&2; exit 2; }
    need_bucket "$3"
    echo "$2" > "$(meta "$3")/anonymous"
    ;;
  ls)
    for last in "$@"; do :; done
    locate "$last"
    if [ ! -d "$dir" ]; then fail "Unable to list folder." "Bucket does not exist."; fi
    keys "$dir" | while IFS= read -r k; do
      size=$(wc -c < "$dir/$k" | tr -d ' ')
      printf '{"status":"success","type":"file","lastModified":"2026-01-01T00:00:00Z","size":%s,"key":"%s","etag":"d41d8cd98f00b204e9800998ecf8427e","url":"%s/","versionOrdinal":1,"storageClass":"STANDARD"}\n' "$size" "$k" "$last"
    done
    ;;
  diff)
    need_bucket "$1"
    a=$dir
    need_bucket "$2"
    b=$dir
    work=$(mktemp -d)
    keys "$a" > "$work/a"
    keys "$b" > "$work/b"
    comm -23 "$work/a" "$work/b" | while IFS= read -r k; do echo "‘$1/$k’ - only in first."; done
    comm -13 "$work/a" "$work/b" | while IFS= read -r k; do echo "‘$2/$k’ - only in second."; done
    comm -12 "$work/a" "$work/b" | while IFS= read -r k; do
      if [ "$(wc -c < "$a/$k")" != "$(wc -c < "$b/$k")" ]; then
        echo "‘$1/$k’ and ‘$2/$k’ - differ in size."
      fi
    done
    rm -rf "$work"
    ;;
  mirror)
    overwrite=0
    remove=0
    excludes=
    while [ $# -gt 2 ]; do
      case "$1" in
        --overwrite) overwrite=1 ;;
        --remove) remove=1 ;;
        --exclude) excludes="$excludes$2
"; shift ;;
        *) echo "fake mc: unknown flag $1" >&2; exit 2 ;;
      esac
      shift
    done
    need_bucket "$1"
    a=$dir
    need_bucket "$2"
    b=$dir
    excluded() {
      printf '%s' "$excludes" | while IFS= read -r pattern; do
        # shellcheck disable=SC2254
        case "$1" in $pattern) echo yes; break ;; esac
      done
    }
    keys "$a" | while IFS= read -r k; do
      [ -z "$(excluded "$k")" ] || continue
      if [ ! -f "$b/$k" ] || { [ "$overwrite" = 1 ] && ! cmp -s "$a/$k" "$b/$k"; }; then
        mkdir -p "$(dirname "$b/$k")"
        cp "$a/$k" "$b/$k"
        echo "‘$1/$k’ -> ‘$2/$k’"
      fi
    done
    if [ "$remove" = 1 ]; then
      keys "$b" | while IFS= read -r k; do
        if [ ! -f "$a/$k" ] && [ -z "$(excluded "$k")" ]; then rm "$b/$k"; echo "Removed ‘$2/$k’"; fi
      done
    fi
    ;;
  admin)
    what="$1 $2"
    shift 2
    case "$what" in
      "user add")
        admin_connect "$1"
        user=$2
        # cmd/admin-user-add.go fetchUserKeys: without SECRETKEY, one line of stdin is the secret.
        if [ $# -ge 3 ]; then new_secret=$3; else IFS= read -r new_secret || true; fi
        if [ "${#new_secret}" -lt 8 ]; then fail "Unable to add new user" "The secret key is invalid."; fi
        mkdir -p "$server/users/$user"
        printf '%s' "$new_secret" > "$server/users/$user/secret"
        echo "Added user \`$user\` successfully."
        ;;
      "user ls" | "user list")
        admin_connect "$1"
        [ -d "$server/users" ] || exit 0
        for dir in "$server"/users/*/; do
          [ -d "$dir" ] || continue
          user=$(basename "$dir")
          policy=$(cat "$dir/policy" 2>/dev/null || true)
          printf '{"status":"success","accessKey":"%s","policyName":"%s","userStatus":"enabled"}\n' "$user" "$policy"
        done
        ;;
      "user rm" | "user remove")
        admin_connect "$1"
        [ -d "$server/users/$2" ] || fail "Unable to remove $2" "The specified user does not exist. Check the user and try again."
        rm -rf "$server/users/$2"
        echo "Removed user \`$2\` successfully."
        ;;
      "policy create")
        admin_connect "$1"
        # cmd/admin-policy-create.go reads POLICYFILE with os.ReadFile; the server refuses what is not a policy.
        [ -f "$3" ] || fail "Unable to get policy" "open $3: no such file or directory."
        mkdir -p "$server/policies"
        cp "$3" "$server/policies/$2.json"
        echo "Created policy \`$2\` successfully."
        ;;
      "policy rm" | "policy remove")
        admin_connect "$1"
        [ -f "$server/policies/$2.json" ] || fail "Unable to remove policy" "The canned policy does not exist."
        rm "$server/policies/$2.json"
        ;;
      "policy attach")
        admin_connect "$1"
        alias=$1
        policy=$2
        [ "$3" = --user ] || { echo "fake mc: only policy attach ALIAS POLICY --user USER" >&2; exit 2; }
        user=$4
        [ -f "$server/policies/$policy.json" ] || fail "Unable to make user/group policy association" "The canned policy does not exist."
        [ -d "$server/users/$user" ] || fail "Unable to make user/group policy association" "The specified user does not exist."
        # An association already in place is XMinioAdminPolicyChangeAlreadyApplied, which mc ignores.
        printf '%s' "$policy" > "$server/users/$user/policy"
        echo "Policy \`$policy\` successfully attached to user \`$user\`"
        ;;
      *) echo "fake mc: unsupported admin $what" >&2; exit 2 ;;
    esac
    ;;
  *)
    echo "fake mc: unsupported command $cmd" >&2
    exit 2
    ;;
esac
