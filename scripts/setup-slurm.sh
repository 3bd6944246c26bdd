#!/usr/bin/env bash
# Installs a single-node Slurm (slurmctld + slurmd + client tools) and MUNGE from Debian packages,
# for milflow's Slurm executor tests. Idempotent: quick no-op when everything is present.
# Without root (or apt-get) it only reports what is missing; the Slurm tests then skip, saying why.
# Starting the daemons is scripts/start-slurm.sh's job.
set -uo pipefail

want=(slurm-wlm munge)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup-slurm: slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm) and munge present"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-slurm: missing ${missing[*]} (needs root and apt-get; the Slurm tests will skip)"
  exit 0
fi

echo "setup-slurm: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=/tmp/milflow-apt-slurm.log
# The package lists may be absent in a fresh container: update only when the install cannot resolve.
if ! flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  flock /tmp/apt.lock apt-get update -qq >>"$log" 2>&1
  flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || {
    echo "setup-slurm: apt-get install ${missing[*]} failed, see $log"
    tail -20 "$log"
    exit 1
  }
fi
# The packages' postinst may try to start services through systemd/invoke-rc.d; in a container
# without an init system that is harmless, start-slurm.sh starts the daemons directly.
for b in sbatch squeue scancel sinfo scontrol slurmctld slurmd munged; do
  command -v "$b" >/dev/null || { echo "setup-slurm: '$b' not on PATH after install"; exit 1; }
done
echo "setup-slurm: installed slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm)"
