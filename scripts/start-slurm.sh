#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine for milflow's Slurm executor tests:
#   scripts/start-slurm.sh          start (or reuse) munged, slurmctld, slurmd; wait for an idle node
#   scripts/start-slurm.sh stop     stop the daemons this script starts (by their pid files)
#   scripts/start-slurm.sh status   print whether the cluster answers (exit 0 if it does)
# Works without systemd (containers): the daemons are started directly. Needs root. Installs Slurm
# and MUNGE first (scripts/setup-slurm.sh) when they are absent. Exit codes: 0 ready, 1 failed,
# 3 cannot run here (not root / not installable): callers skip on 3 and fail on 1.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CONF=/etc/slurm/slurm.conf
MARK="# written by milflow scripts/start-slurm.sh"
LOGDIR=/var/log/slurm
SPOOL_CTLD=/var/spool/slurmctld
SPOOL_D=/var/spool/slurmd
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
TIMEOUT="${MILFLOW_SLURM_START_TIMEOUT:-60}"

say() { echo "start-slurm: $*"; }
die() { printf 'start-slurm: error: %b\n' "$1" >&2; exit "${2:-1}"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

node_state() { sinfo -h -N -n localhost -o '%T' 2>/dev/null | head -1; }

stop_pidfile() {
  local f="$1" name="$2"
  if pid_alive "$f"; then
    local pid; pid="$(cat "$f")"
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    say "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

case "${1:-start}" in
  stop)
    stop_pidfile "$SLURMD_PID" slurmd
    stop_pidfile "$CTLD_PID" slurmctld
    # munged only if this script started it (a system munged may serve other things).
    if [ -f /run/milflow-munged.started ]; then stop_pidfile "$MUNGE_PID" munged; rm -f /run/milflow-munged.started; fi
    exit 0 ;;
  status)
    if scontrol ping 2>/dev/null | grep -q 'is UP'; then say "up, node localhost: $(node_state)"; exit 0; fi
    say "not running"; exit 1 ;;
  start) ;;
  *) die "unknown command '$1' (start | stop | status)" ;;
esac

[ "$(id -u)" = 0 ] || die "needs root to start munged/slurmctld/slurmd (uid $(id -u))" 3
bash "$HERE/setup-slurm.sh" || die "scripts/setup-slurm.sh failed" 3
for b in munged munge unmunge slurmctld slurmd sinfo scontrol; do
  command -v "$b" >/dev/null || die "'$b' not found after setup-slurm.sh (is slurm-wlm installed?)" 3
done

# --- MUNGE: Slurm authenticates every RPC with it -------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  install -d -o munge -g munge -m 0700 /etc/munge
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
  else dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; fi
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running"
else
  say "starting munged"
  # Debian runs munged as the 'munge' user; it refuses a key not owned by its own uid.
  runuser -u munge -- munged --pid-file="$MUNGE_PID" || die "munged failed to start (see /var/log/munge/munged.log)"
  touch /run/milflow-munged.started
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null 2>&1 || die "munged started but 'munge -n | unmunge' fails (see /var/log/munge/munged.log)"
fi

# --- slurm.conf: one node 'localhost' with this machine's real CPUs and memory ---------------
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  # Someone else's cluster config: use that cluster if it answers, never overwrite it.
  if scontrol ping 2>/dev/null | grep -q 'is UP'; then say "using the running cluster of $CONF (not milflow's)"; exit 0; fi
  die "$CONF exists and was not written by milflow; refusing to overwrite it (move it away or start that cluster yourself)"
fi
# slurmd -C reports the topology slurmd will detect; a node configured with more than that drains.
hw="$(slurmd -C 2>/dev/null | head -1)" || true
cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")"
sockets="$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")"
cores="$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")"
threads="$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")"
mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")"
[ -n "$cpus" ] || cpus="$(nproc)"
[ -n "$mem" ] || mem="$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
topo=""
[ -n "$sockets" ] && [ -n "$cores" ] && [ -n "$threads" ] && topo="SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads"

# GPUs become gres when nvidia-smi sees some. MILFLOW_SLURM_FAKE_GPUS=N (no real GPUs) declares N
# placeholder GPUs backed by plain files, so the executor's --gres path can be tested on a CPU
# machine: jobs are scheduled against them (SLURM_GPUS_ON_NODE is set) but no device exists.
GRES_CONF=/etc/slurm/gres.conf
gres_line=""; gres_types=""; gres_conf=""
ngpu=0
if command -v nvidia-smi >/dev/null; then ngpu="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"; fi
if [ "${ngpu:-0}" -gt 0 ]; then
  gres_conf="NodeName=localhost Name=gpu File=/dev/nvidia[0-$((ngpu - 1))]"
elif [ "${MILFLOW_SLURM_FAKE_GPUS:-0}" -gt 0 ]; then
  ngpu="$MILFLOW_SLURM_FAKE_GPUS"
  mkdir -p "$SPOOL_D/fake-gpu"
  for i in $(seq 0 $((ngpu - 1))); do touch "$SPOOL_D/fake-gpu/gpu$i"; done
  gres_conf="NodeName=localhost Name=gpu File=$SPOOL_D/fake-gpu/gpu[0-$((ngpu - 1))]"
  say "declaring $ngpu placeholder GPU(s) (MILFLOW_SLURM_FAKE_GPUS): for testing --gres only"
fi
if [ -n "$gres_conf" ]; then gres_line="Gres=gpu:$ngpu"; gres_types="GresTypes=gpu"; fi

conf_text="$MARK
# Single-node cluster for tests and laptops: no accounting daemon (sacct is unavailable; milflow's
# executor reads job state from squeue/scontrol and a status file its job script writes).
ClusterName=milflow
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$SPOOL_CTLD
SlurmdSpoolDir=$SPOOL_D
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue/scontrol for 5 minutes, long enough to read their state.
MinJobAge=300
# Start a submitted batch job at once instead of within up to 3 s (the default batch_sched_delay):
# measured here, a trivial job's submit-to-done time fell from 3.0 s to 0.9 s.
SchedulerParameters=batch_sched_delay=0
$gres_types
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$mem $gres_line State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP"
gres_text=""
if [ -n "$gres_conf" ]; then gres_text="$MARK
$gres_conf"; fi

# --- Reuse a cluster that already answers with this very configuration ---------------------
same_conf=0
if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$conf_text" ] && [ "$(cat "$GRES_CONF" 2>/dev/null)" = "$gres_text" ]; then same_conf=1; fi
if ((same_conf)) && scontrol ping 2>/dev/null | grep -q 'is UP'; then
  st="$(node_state)"
  case "$st" in
    idle*|mixed*|allocated*|completing*) say "slurm already up (node localhost: $st)"; exit 0 ;;
  esac
fi
if ((!same_conf)); then
  # A changed node definition (CPUs, gres) needs fresh daemons, not a reconfigure.
  if pid_alive "$SLURMD_PID" || pid_alive "$CTLD_PID"; then
    say "configuration changed: restarting slurmctld and slurmd"
    stop_pidfile "$SLURMD_PID" slurmd
    stop_pidfile "$CTLD_PID" slurmctld
  fi
  mkdir -p /etc/slurm "$LOGDIR" "$SPOOL_CTLD" "$SPOOL_D"
  printf '%s\n' "$conf_text" > "$CONF"
  if [ -n "$gres_text" ]; then printf '%s\n' "$gres_text" > "$GRES_CONF"
  elif [ -f "$GRES_CONF" ] && grep -qF "$MARK" "$GRES_CONF"; then rm -f "$GRES_CONF"; fi
  say "wrote $CONF (localhost: CPUs=$cpus RealMemory=${mem}M${gres_line:+ $gres_line})"
fi

# --- daemons ------------------------------------------------------------------------------
if pid_alive "$CTLD_PID"; then
  say "slurmctld running (pid $(cat "$CTLD_PID")): reconfiguring"
  scontrol reconfigure >/dev/null 2>&1 || true
else
  say "starting slurmctld"
  # -i: ignore state that does not match the config (a fresh or rewritten slurm.conf).
  slurmctld -i || die "slurmctld failed to start; last log lines:\n$(tail -20 "$LOGDIR/slurmctld.log" 2>/dev/null)"
fi
for _ in $(seq 1 $((TIMEOUT * 5))); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q 'is UP' || { tail -20 "$LOGDIR/slurmctld.log" >&2; die "slurmctld does not answer 'scontrol ping' after ${TIMEOUT}s"; }

if pid_alive "$SLURMD_PID"; then
  say "slurmd running (pid $(cat "$SLURMD_PID"))"
else
  say "starting slurmd"
  # -N: this host's name ('vm', a container id, ...) is not the configured NodeName.
  slurmd -N localhost || { tail -20 "$LOGDIR/slurmd.log" >&2; die "slurmd failed to start"; }
fi

state=""
for i in $(seq 1 $((TIMEOUT * 2))); do
  state="$(node_state)"
  case "$state" in
    idle*|mixed*|allocated*) break ;;
    drain*|down*)
      # A node remembered as down/drained from an earlier run (e.g. the daemons were killed).
      if ((i % 4 == 1)); then scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true; fi ;;
  esac
  sleep 0.5
done
case "$state" in
  idle*|mixed*|allocated*) say "ready: partition debug, node localhost $state" ;;
  *)
    reason="$(sinfo -h -R -n localhost -o '%E' 2>/dev/null)"
    tail -20 "$LOGDIR/slurmd.log" >&2
    die "node localhost is '${state:-unknown}' after ${TIMEOUT}s${reason:+ (reason: $reason)}; logs in $LOGDIR" ;;
esac
