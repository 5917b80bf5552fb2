#!/usr/bin/env bash
# A pg_auto_failover formation on loopback: a monitor, a primary and a synchronous secondary.
#
#   ops/ha/ha.sh up            install the Debian packages if missing, create what is missing,
#                              start what is stopped, wait for primary + secondary, print the URL
#   ops/ha/ha.sh down          stop everything and remove $HA_DIR
#   ops/ha/ha.sh url           the multi-host connection string dongne uses
#   ops/ha/ha.sh state         the monitor's view of the nodes
#   ops/ha/ha.sh switchover    a planned failover: the primary hands over to the secondary
#   ops/ha/ha.sh kill-primary  SIGKILL the primary's keeper and postmaster (a node dying)
#   ops/ha/ha.sh start NODE    start node1 or node2 again (it rejoins as the secondary)
#   ops/ha/ha.sh wait          wait until one node is primary and the other secondary
#   ops/ha/ha.sh partition     cut the primary's network (HA_NETNS=1 only); prints its name
#   ops/ha/ha.sh heal NODE     give the node its network back
#
# HA_NETNS=1 puts each node in a network namespace of its own (dongne-monitor, dongne-node1,
# dongne-node2; 10.77.0.10-12 on a bridge whose side here is 10.77.0.1), so that a node can be
# cut off from the others; its files default to /tmp/dongne-ha-netns, its ports to 55440-2.
#
# Every command can be run again: `up` on a running formation only checks it. pg_autoctl
# refuses to run as root, so the processes run as the `postgres` OS user; their files (data,
# pg_autoctl's config and state, logs) all live under $HA_DIR, so `down` leaves nothing behind.
set -euo pipefail

HA_NETNS=${HA_NETNS:-}
if [[ -n $HA_NETNS ]]; then HA_DIR=${HA_DIR:-/tmp/dongne-ha-netns}; else HA_DIR=${HA_DIR:-/tmp/dongne-ha}; fi
HA_USER=${HA_USER:-postgres}
HA_DATABASE=${HA_DATABASE:-dongne}
# Other ports in namespaces too: the Unix sockets in /var/run/postgresql are shared.
FIRST_PORT=$([[ -n $HA_NETNS ]] && echo 55440 || echo 55430)
MONITOR_PORT=${HA_MONITOR_PORT:-$FIRST_PORT}
NODE1_PORT=${HA_NODE1_PORT:-$((FIRST_PORT + 1))}
NODE2_PORT=${HA_NODE2_PORT:-$((FIRST_PORT + 2))}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
WAIT_SECONDS=${HA_WAIT_SECONDS:-180}
SUBNET=10.77.0
BRIDGE=dongne-br
declare -A HOST_OF=([monitor]=127.0.0.1 [node1]=127.0.0.1 [node2]=127.0.0.1)
declare -A PORT_OF=([monitor]=$MONITOR_PORT [node1]=$NODE1_PORT [node2]=$NODE2_PORT)
if [[ -n $HA_NETNS ]]; then
    HOST_OF=([monitor]=$SUBNET.10 [node1]=$SUBNET.11 [node2]=$SUBNET.12)
fi
HOST=${HOST_OF[monitor]}
MONITOR_URL="postgres://autoctl_node@${HOST}:${MONITOR_PORT}/pg_auto_failover?sslmode=disable"

say() { printf 'ha: %s\n' "$*" >&2; }

# pg_autoctl as the postgres user, with its XDG files under $HA_DIR rather than in ~postgres.
POSTGRES_ENVIRONMENT=(
    HOME="$HA_DIR"
    XDG_CONFIG_HOME="$HA_DIR/config"
    XDG_DATA_HOME="$HA_DIR/share"
    XDG_RUNTIME_DIR="$HA_DIR/run"
    PATH="$PG_BIN:/usr/bin:/bin"
)
as_postgres() {
    runuser -u "$HA_USER" -- env "${POSTGRES_ENVIRONMENT[@]}" "$@"
}

monitor_sql() {
    as_postgres psql -X -q -A -t -h "$HOST" -p "$MONITOR_PORT" -d pg_auto_failover -c "$1"
}

install_packages() {
    local missing=()
    for package in postgresql-15-auto-failover pg-auto-failover-cli; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# A command in the node's network namespace (HA_NETNS=1), or here.
in_node() {
    local name=$1
    shift
    if [[ -n $HA_NETNS ]]; then
        ip netns exec "dongne-$name" "$@"
    else
        "$@"
    fi
}

# The bridge and one namespace per node, each joined to the bridge by a veth pair.
network_up() {
    [[ -n $HA_NETNS ]] || return 0
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$SUBNET.1/24" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    local name
    for name in monitor node1 node2; do
        if ! ip netns list | grep -qw "dongne-$name"; then
            ip netns add "dongne-$name"
            ip link add "veth-$name" type veth peer name eth0 netns "dongne-$name"
            ip link set "veth-$name" master "$BRIDGE"
            ip netns exec "dongne-$name" ip addr add "${HOST_OF[$name]}/24" dev eth0
            ip netns exec "dongne-$name" ip link set eth0 up
            ip netns exec "dongne-$name" ip link set lo up
        fi
        ip link set "veth-$name" up
    done
}

network_down() {
    [[ -n $HA_NETNS ]] || return 0
    local name
    for name in monitor node1 node2; do
        ip netns delete "dongne-$name" 2>/dev/null || true
    done
    ip link delete "$BRIDGE" 2>/dev/null || true
}

# Every address of the bridge may connect (the app here, the nodes to each other).
trust_subnet() {
    [[ -n $HA_NETNS ]] || return 0
    local hba=$HA_DIR/$1/pg_hba.conf rule="host all all $SUBNET.0/24 trust"
    if ! grep -qF "$rule" "$hba"; then
        printf '%s\n%s\n' "$rule" "host replication all $SUBNET.0/24 trust" >>"$hba"
        in_node "$1" runuser -u "$HA_USER" -- "$PG_BIN/pg_ctl" -D "$HA_DIR/$1" reload >/dev/null
    fi
}

# Starts `pg_autoctl run` for a data directory unless its pid file names a live process.
run_node() {
    local name=$1 pidfile
    pidfile=$(autoctl_pidfile "$name")
    if [[ -n $pidfile && -f $pidfile ]] && kill -0 "$(head -1 "$pidfile")" 2>/dev/null; then
        return
    fi
    say "starting $name"
    # setsid: the node outlives the shell (and the make, and its Ctrl-C) that started it.
    in_node "$name" setsid runuser -u "$HA_USER" -- env "${POSTGRES_ENVIRONMENT[@]}" \
        pg_autoctl run --pgdata "$HA_DIR/$name" >>"$HA_DIR/$name.log" 2>&1 </dev/null &
}

autoctl_pidfile() {
    local found
    found=$(find "$HA_DIR/run" -path "*$HA_DIR/$1/pg_autoctl.pid" 2>/dev/null | head -1)
    printf '%s' "$found"
}

wait_for() {
    local what=$1 check=$2 deadline=$((SECONDS + WAIT_SECONDS))
    until eval "$check" >/dev/null 2>&1; do
        if ((SECONDS > deadline)); then
            say "gave up waiting for $what after ${WAIT_SECONDS}s; logs in $HA_DIR/*.log"
            return 1
        fi
        sleep 0.5
    done
}

create_monitor() {
    if [[ ! -d $HA_DIR/monitor ]]; then
        say "creating the monitor on port $MONITOR_PORT"
        in_node monitor runuser -u "$HA_USER" -- env "${POSTGRES_ENVIRONMENT[@]}" \
            pg_autoctl create monitor --pgdata "$HA_DIR/monitor" \
            --pgport "$MONITOR_PORT" --hostname "$HOST" --auth trust --no-ssl \
            --pgctl "$PG_BIN/pg_ctl" >>"$HA_DIR/monitor.log" 2>&1
    fi
    run_node monitor
    wait_for "the monitor's postgres" "[[ -f '$HA_DIR/monitor/postmaster.pid' ]]"
    trust_subnet monitor
    wait_for "the monitor" "monitor_sql 'select 1'"
    # Fail over in seconds, not the defaults' ~50 s: health checks every second, a node
    # unhealthy after 5 s, and the old primary given 10 s to demote itself (its keeper does so
    # after 5 s cut off, network_partition_timeout below, so no two primaries ever overlap).
    local setting
    for setting in health_check_period=1000 health_check_timeout=1000 \
        health_check_max_retries=1 health_check_retry_delay=500 \
        node_considered_unhealthy_timeout=5000 primary_demote_timeout=10000; do
        monitor_sql "alter system set pgautofailover.${setting%=*} = ${setting#*=}" >/dev/null
    done
    monitor_sql "select pg_reload_conf()" >/dev/null
}

create_node() {
    local name=$1 port=$2
    if [[ ! -f $HA_DIR/config/pg_autoctl$HA_DIR/$name/pg_autoctl.cfg ]]; then
        say "creating $name on port $port"
        in_node "$name" runuser -u "$HA_USER" -- env "${POSTGRES_ENVIRONMENT[@]}" \
            pg_autoctl create postgres --pgdata "$HA_DIR/$name" --pgport "$port" \
            --hostname "${HOST_OF[$name]}" --name "$name" --dbname "$HA_DATABASE" \
            --monitor "$MONITOR_URL" --auth trust --no-ssl --pgctl "$PG_BIN/pg_ctl" \
            >>"$HA_DIR/$name.log" 2>&1
        as_postgres pg_autoctl config set --pgdata "$HA_DIR/$name" \
            timeout.network_partition_timeout 5 >/dev/null
    fi
    run_node "$name"
    if [[ $name == node1 ]]; then # node2 is a copy of node1's data directory, rules included
        wait_for "$name's postgres" "[[ -f '$HA_DIR/$name/postmaster.pid' ]]"
        trust_subnet "$name"
    fi
}

node_count() { # nodes the monitor sees in state $1 (both reported and assigned)
    monitor_sql "select count(*) from pgautofailover.node
                 where reportedstate = '$1' and goalstate = '$1'"
}

formation_ready() {
    [[ $(node_count primary) == 1 && $(node_count secondary) == 1 ]]
}

url() {
    local hosts="${HOST_OF[node1]}:$NODE1_PORT,${HOST_OF[node2]}:$NODE2_PORT"
    printf 'postgresql://%s@%s/%s?target_session_attrs=read-write&connect_timeout=3\n' \
        "$HA_USER" "$hosts" "$HA_DATABASE"
}

up() {
    install_packages
    mkdir -p "$HA_DIR/run" "$HA_DIR/config" "$HA_DIR/share"
    chown -R "$HA_USER:" "$HA_DIR"
    chmod 700 "$HA_DIR"
    network_up
    create_monitor
    create_node node1 "$NODE1_PORT"
    wait_for "node1 to be primary" \
        "[[ \$(monitor_sql \"select count(*) from pgautofailover.node where reportedstate in ('single','primary','wait_primary')\") -ge 1 ]]"
    create_node node2 "$NODE2_PORT"
    wait_for "a primary and a synchronous secondary" formation_ready
    state
    say "synchronous_standby_names on the primary: $(primary_setting synchronous_standby_names)"
    say "connection string (DONGNE_DATABASE_URL):"
    url
}

primary_name() {
    monitor_sql "select nodename from pgautofailover.node where reportedstate = 'primary'
                 or goalstate in ('primary', 'wait_primary', 'single') limit 1"
}

primary_setting() {
    local name
    name=$(primary_name)
    as_postgres psql -X -q -A -t -h "${HOST_OF[$name]}" -p "${PORT_OF[$name]}" \
        -d "$HA_DATABASE" -c "show $1"
}

state() {
    monitor_sql "select nodename || ' ' || nodehost || ':' || nodeport || ' ' || reportedstate
                 || ' -> ' || goalstate from pgautofailover.node order by nodeid" >&2
}

kill_primary() {
    local name keeper postmaster helpers
    name=$(primary_name)
    keeper=$(head -1 "$(autoctl_pidfile "$name")")
    helpers=$(pgrep -P "$keeper" | tr '\n' ' ')
    postmaster=$(head -1 "$HA_DIR/$name/postmaster.pid")
    say "SIGKILL to $name: postmaster $postmaster, pg_autoctl $keeper $helpers"
    # The keeper too, in the same breath: alive, it would restart its postmaster in place
    # within a second and no failover would happen. Together they are a node dying.
    # shellcheck disable=SC2086 # the helpers are a list of pids
    kill -KILL "$postmaster" "$keeper" $helpers
    printf '%s\n' "$name"
}

down() {
    if [[ -d $HA_DIR ]]; then
        for name in node2 node1 monitor; do
            local pidfile
            pidfile=$(autoctl_pidfile "$name")
            if [[ -n $pidfile && -f $pidfile ]]; then
                kill -TERM "$(head -1 "$pidfile")" 2>/dev/null || true
            fi
        done
        sleep 2
        for name in node2 node1 monitor; do
            if [[ -f $HA_DIR/$name/postmaster.pid ]]; then
                as_postgres "$PG_BIN/pg_ctl" -D "$HA_DIR/$name" -m immediate stop >/dev/null 2>&1 ||
                    true
            fi
        done
        rm -rf "$HA_DIR"
    fi
    network_down
    say "removed $HA_DIR"
}

case ${1:-} in
up) up ;;
down) down ;;
url) url ;;
state) state ;;
kill-primary) kill_primary ;;
partition)
    name=$(primary_name)
    ip link set "veth-$name" down
    say "cut $name off the network"
    printf '%s\n' "$name"
    ;;
heal) ip link set "veth-${2:?node1 or node2}" up ;;
switchover) as_postgres pg_autoctl perform switchover --pgdata "$HA_DIR/node1" ;;
start) mkdir -p "$HA_DIR/run" && run_node "${2:?node1 or node2}" ;;
wait) wait_for "a primary and a secondary" formation_ready ;;
*)
    sed -n '2,20p' "$0"
    exit 2
    ;;
esac
