# Helpers for tests/tls/run (sourced): result counting, the chip's
# availability, certificates, key reference files, and nginx/HAProxy
# servers run from a scratch directory on 127.0.0.1.
#
# The caller sets: T (scratch dir), MODE (host|vm), TOKEN (token label),
# PIN, CA (CA certificate), and for the host EMU, EMU_STATE, EMU_SOCK.

p=0 f=0
ok() { p=$((p + 1)); echo "ok: $*"; }
bad() { f=$((f + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local what=$1
	shift
	if "$@" >"$T/check.log" 2>&1; then
		ok "$what"
	else
		bad "$what"
		tail -15 "$T/check.log" | sed 's/^/    /'
	fi
}

# pkcs11: URI of a key on our token; the label may hold spaces.
key_uri() { printf 'pkcs11:token=%s;object=%s;type=%s' \
	"$(sed 's/ /%20/g' <<<"$TOKEN")" "$1" "${2:-private}"; }

# ---- the chip -------------------------------------------------------------

SERVERS=()
EMU_PID=

# Host: the emulator for our token, same state every time.
emu_start() {
	rm -f "$EMU_SOCK"
	"$EMU" --state "$EMU_STATE" --socket "$EMU_SOCK" --label "$TOKEN" \
		--foreground 2>>"$T/emu.log" &
	EMU_PID=$!
	for _ in $(seq 200); do
		[ -S "$EMU_SOCK" ] && return 0
		sleep 0.05
	done
	echo "emulator did not start (see $T/emu.log)"
	return 1
}

# Ask the VM harness (tools/vm/run) to act on chip 0's emulator; it reads
# the request from the console.
vm_host() {
	echo "@@BCCHIP-HOST $1 0"
	sleep 2
}

# The chip goes away for good (its process killed) ...
chip_kill() {
	if [ "$MODE" = vm ]; then
		vm_host kill-emu
	else
		kill -KILL "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null
		EMU_PID=
	fi
}
# ... and comes back with the same keys.
chip_restart() {
	if [ "$MODE" = vm ]; then
		vm_host start-emu
	else
		emu_start
	fi
}
# The chip stops answering (frozen), then answers again.
chip_freeze() {
	if [ "$MODE" = vm ]; then vm_host stop-emu; else kill -STOP "$EMU_PID"; fi
}
chip_thaw() {
	if [ "$MODE" = vm ]; then vm_host cont-emu; else kill -CONT "$EMU_PID"; fi
}

# ---- processes ------------------------------------------------------------

# Stops a server started in the background (TERM, then KILL for it and
# the workers it leaves behind).
stop_server() {
	local pid=$1 kids k comm
	[ -d "/proc/$pid" ] || { wait "$pid" 2>/dev/null; return 0; }
	kids=$(ps_children "$pid")
	comm=$(cat "/proc/$pid/comm" 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do
		[ -d "/proc/$pid" ] || break
		# a zombie is gone for our purposes: wait reaps it
		grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
		sleep 0.1
	done
	if [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status"; then
		echo "server $pid did not stop: killed"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	# workers left behind (hung): only ours, not a reused pid
	for k in $kids; do
		[ "$(cat "/proc/$k/comm" 2>/dev/null)" = "$comm" ] &&
			kill -KILL "$k" 2>/dev/null
	done
	return 0
}

# Child pids of $1, from /proc (no procps in the VM).
ps_children() {
	local st rest
	for st in /proc/[0-9]*/stat; do
		rest=$(cat "$st" 2>/dev/null) || continue
		# "pid (comm) state ppid ...": comm may hold blanks
		rest=${rest##*) }
		rest=${rest#* }
		if [ "${rest%% *}" = "$1" ]; then
			st=${st#/proc/}
			echo "${st%/stat}"
		fi
	done
}

stop_all_servers() {
	local s
	for s in "${SERVERS[@]}"; do
		stop_server "$s"
	done
	SERVERS=()
}

# Port free on 127.0.0.1 (nothing accepts a connection there).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until something listens on 127.0.0.1:$1 (or $2 tenths of a second).
wait_port() {
	local i
	for i in $(seq "${2:-200}"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- certificates and key references --------------------------------------

# A PEM key reference file (docs/openssl.md "Key reference files") for
# the URI $1, written to $2.
make_keyref() {
	local uri=$1 out=$2
	printf 'asn1=SEQUENCE:ref\n[ref]\nversion=INTEGER:0\nuri=UTF8:%s\n' \
		"$uri" >"$out.cnf"
	OPENSSL_CONF=/dev/null openssl asn1parse -genconf "$out.cnf" -noout \
		-out "$out.der" >/dev/null || return 1
	{
		echo "-----BEGIN BCCHIP KEY REFERENCE-----"
		base64 -w 64 "$out.der"
		echo "-----END BCCHIP KEY REFERENCE-----"
	} >"$out"
	rm -f "$out.cnf" "$out.der"
}

# The CA (a software key: only the servers' keys are on the chip).
make_ca() {
	OPENSSL_CONF=/dev/null openssl req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
		-out "$CA" -subj "/CN=Bastionchip test CA" -days 2 \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' >"$T/server.ext"
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature,nonRepudiation' \
		'extendedKeyUsage=codeSigning,emailProtection' >"$T/signer.ext"
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		'keyUsage=critical,digitalSignature' \
		'extendedKeyUsage=clientAuth' >"$T/client.ext"
}

# Issues a certificate for CSR $1 with extensions $2 into $3.
ca_issue() {
	OPENSSL_CONF=/dev/null openssl x509 -req -in "$1" -CA "$CA" \
		-CAkey "$T/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' ')" \
		-days 2 -extfile "$2" -out "$3"
}

# ---- servers --------------------------------------------------------------

# nginx_conf DIR WORKERS SERVER...: each SERVER is "PORT CERT KEY [mtls]";
# KEY is what ssl_certificate_key takes (a file, or engine:pkcs11:URI);
# mtls: clients must show a certificate from our CA.
nginx_conf() {
	local d=$1 w=$2 s port cert key mtls
	shift 2
	mkdir -p "$d/tmp"
	{
		echo "daemon off;"
		echo "master_process on;"
		echo "worker_processes $w;"
		echo "pid $d/nginx.pid;"
		echo "error_log $d/error.log notice;"
		# nginx's workers would otherwise become nobody, who may not
		# open the chip's device (or the emulator's socket)
		[ "$(id -u)" = 0 ] && echo "user root root;"
		# the workers' environment is cleared but for these
		echo "env BCCHIP_DEVICE;"
		echo "env BCCHIP_TIMEOUT_MS;"
		echo "events { worker_connections 2048; }"
		echo "http {"
		echo "  access_log off;"
		echo "  default_type text/plain;"
		for s in client_body proxy fastcgi uwsgi scgi; do
			echo "  ${s}_temp_path $d/tmp/$s;"
		done
		for s in "$@"; do
			read -r port cert key mtls <<<"$s"
			echo "  server {"
			# reuseport: the kernel spreads connections over the
			# workers, so that every worker uses the chip
			echo "    listen 127.0.0.1:$port ssl backlog=1024 reuseport;"
			echo "    ssl_certificate $cert;"
			echo "    ssl_certificate_key \"$key\";"
			echo "    ssl_protocols TLSv1.2 TLSv1.3;"
			# every connection a full handshake, signed by the key
			echo "    ssl_session_tickets off;"
			echo "    ssl_session_cache off;"
			if [ -n "$mtls" ]; then
				echo "    ssl_client_certificate $CA;"
				echo "    ssl_verify_client on;"
				echo "    location / { return 200 \"hello \$ssl_client_s_dn from $port\\n\"; }"
			else
				echo "    location / { return 200 \"hello from $port\\n\"; }"
			fi
			echo "  }"
		done
		echo "}"
	} >"$d/nginx.conf"
}

# nginx_start DIR OPENSSL_CONF PORT...: runs nginx in the background, waits
# for its ports.  Its master pid is in SERVERS.
nginx_start() {
	local d=$1 conf=$2 port pid
	shift 2
	OPENSSL_CONF=$conf nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
		>>"$d/stdout.log" 2>&1 &
	pid=$!
	SERVERS+=("$pid")
	for port in "$@"; do
		if ! wait_port "$port" 300; then
			echo "nginx in $d did not come up on $port:"
			tail -20 "$d/error.log" | sed 's/^/    /'
			return 1
		fi
	done
	# the workers are up too (they start after the master binds)
	for _ in $(seq 100); do
		grep -q 'start worker process' "$d/error.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 0
}

# haproxy_conf FILE SERVER...: each SERVER is "PORT BUNDLE".
haproxy_conf() {
	local file=$1 s port crt
	shift
	{
		echo "global"
		echo "  log stderr format raw local0 notice"
		echo "  nbthread 2"
		echo "  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets"
		echo "defaults"
		echo "  mode http"
		echo "  log global"
		echo "  timeout connect 5s"
		echo "  timeout client 20s"
		echo "  timeout server 20s"
		for s in "$@"; do
			read -r port crt <<<"$s"
			echo "frontend tls$port"
			echo "  bind 127.0.0.1:$port ssl crt $crt"
			echo "  http-request return status 200 content-type text/plain string \"hello from $port\""
		done
	} >"$file"
}

# haproxy_start CONF OPENSSL_CONF LOG PORT...: master-worker mode, as
# systemd runs it: the master loads the keys, a forked worker serves.
haproxy_start() {
	local cfg=$1 conf=$2 logf=$3 port pid
	shift 3
	OPENSSL_CONF=$conf haproxy -W -db -f "$cfg" >>"$logf" 2>&1 &
	pid=$!
	SERVERS+=("$pid")
	for port in "$@"; do
		if ! wait_port "$port" 300; then
			echo "haproxy did not come up on $port:"
			tail -20 "$logf" | sed 's/^/    /'
			return 1
		fi
	done
}

# ---- clients --------------------------------------------------------------

# curl with our CA; extra arguments follow.  Prints the body.  The
# client's OpenSSL configuration is $CLIENT_CONF (default none).
tls_curl() {
	local port=$1
	shift
	OPENSSL_CONF=${CLIENT_CONF:-/dev/null} curl -sS --max-time 20 \
		--cacert "$CA" "$@" "https://localhost:$port/"
}

# On stdin, s_client's output and exit status: a handshake with protocol
# $1 (a prefix) completed and the chain and name verified.  (In TLS 1.3
# the "New, ..." line appears once the server's hello is in, even if the
# handshake fails later: the exit status says whether it did.)
sclient_ok() {
	local out
	out=$(cat)
	grep -q '^s_client exit status 0$' <<<"$out" &&
		grep -q "^New, $1[.0-9]*, Cipher is " <<<"$out" &&
		grep -q 'Verify return code: 0 (ok)' <<<"$out"
}

# s_client with chain and name verification; extra arguments follow.
tls_sclient() {
	local port=$1
	shift
	OPENSSL_CONF=/dev/null timeout 30 openssl s_client \
		-connect "127.0.0.1:$port" -servername localhost \
		-verify_hostname localhost -verify_return_error -CAfile "$CA" \
		"$@" </dev/null 2>&1
}
