#!/usr/bin/env bash
# Proves scripts/slurm/ on a real, throwaway single-node Slurm cluster on this machine, following
# the recovery steps of docs/SCHEMA.md ("Sweeping on a cluster (Slurm)") exactly:
#   1. submit sweep.sbatch as a 4-task array (a 7-configuration grid, random weights, no training;
#      --cpus-per-task=1 so that it fits any node) and merge.sbatch with --dependency=afterany on it;
#   2. cancel task 2 while it measures its second configuration (scancel, as a time limit or a
#      lost node would stop it);
#   3. the merge job fails, names the unfinished configuration and prints the rerun command;
#   4. run that command: it reruns task 2 as shard 2/4 (not 1/1) and a new merge after it;
#   5. check: every configuration is in all.sqlite once and done, no finished configuration was
#      measured twice (each is in one shard file, and shard 2's finished run kept its row and
#      times), the report exists, and a third merge rebuilds the same all.sqlite.
# Run by `SPCONVLAB_SLURM_TESTS=1 swift test --filter SlurmScriptTests`, or by hand as root on
# Debian 12: tools/slurm_e2e.sh [PROBE_CLI] (default .build/release/probe-cli, else .build/debug/probe-cli).
# It installs slurm-wlm and munge with apt-get when missing, runs munged, slurmctld and slurmd by
# hand with every file under a new /tmp/spconvlab-slurm-e2e.* folder and free ports (so two runs
# never meet), and stops them on exit; the folder is removed when the check passes and kept,
# with the daemons' logs, when it fails. Every daemon and job runs at nice 19 in its own
# autogroup, so a busy machine stays usable. SLURM_E2E_IMAGES (default 8) sets the synthetic
# images per configuration, SLURM_E2E_TIMEOUT (default 1800) the seconds each wait may take.
# Exit status: 0 passed, 1 failed, 64 bad usage.
set -euo pipefail

e2e_started=$(date +%s)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "slurm_e2e: $*" >&2; }
die() { echo "slurm_e2e: error: $*" >&2; exit 1; }

[ $# -le 1 ] || { echo "slurm_e2e: error: too many arguments ($*); give at most one, the probe-cli binary to test." >&2; exit 64; }
probe=${1:-}
if [ -z "$probe" ]; then
    for candidate in "$repo/.build/release/probe-cli" "$repo/.build/debug/probe-cli"; do
        [ -x "$candidate" ] && { probe=$candidate; break; }
    done
fi
[ -n "$probe" ] || die "no probe-cli under $repo/.build/release or $repo/.build/debug; build it (swift build -c release) or pass its path."
case $probe in /*) ;; *) probe=$PWD/$probe ;; esac
[ -x "$probe" ] && [ -f "$probe" ] || { echo "slurm_e2e: error: PROBE_CLI '$probe' is not an executable file; pass the path of a built probe-cli." >&2; exit 64; }
[ "$(id -u)" = 0 ] || die "run as root (uid $(id -u) now): the check installs Debian packages and runs munged, slurmctld and slurmd."

# 1. Debian's Slurm and MUNGE.
missing=()
for package in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# 2. The cluster's folder, ports and clean-up.
for name in $(compgen -e | grep '^SLURM_' || true); do unset "$name"; done  # not the caller's cluster, if any
work=$(mktemp -d /tmp/spconvlab-slurm-e2e.XXXXXX)
chmod 755 "$work"  # munged wants every folder above its socket searchable
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log" "$work/bin" "$work/sweep"
export SLURM_CONF=$work/slurm.conf
daemons=() jobs_submitted=0 passed=0

cleanup() {
    set +e
    if [ "$jobs_submitted" = 1 ]; then
        # shellcheck disable=SC2046  # one argument per job id
        scancel --full --quiet $(squeue -h -o %A 2>/dev/null | sort -u) 2>/dev/null
        for _ in $(seq 60); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
    fi
    if [ ${#daemons[@]} -gt 0 ]; then
        kill -TERM "${daemons[@]}" 2>/dev/null
        for _ in $(seq 30); do kill -0 "${daemons[@]}" 2>/dev/null || break; sleep 1; done
        kill -KILL "${daemons[@]}" 2>/dev/null
    fi
    if [ -s "$work/munge/munged.pid" ]; then
        munged_pid=$(cat "$work/munge/munged.pid")
        timeout 20 munged --stop --socket="$work/munge/munge.socket" >/dev/null 2>&1
        kill -0 "$munged_pid" 2>/dev/null && kill -KILL "$munged_pid" 2>/dev/null
    fi
    if [ "$passed" = 1 ]; then
        rm -rf "$work"
    else
        say "failed; the cluster's files and logs are kept in $work (log/, sweep/)"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

no_inherited_fds() {  # execs "$@" with only standard input, output and error open
    # A caller's descriptor left open in a daemon keeps it waiting: Foundation's Process, for
    # one, learns that its child ended when a socket it passed down is closed everywhere.
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done 2>/dev/null
    exec "$@"
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {  # the first free port from $1 on, skipping $2
    local port=$1
    while port_in_use "$port" || [ "$port" = "${2:-}" ]; do port=$((port + 1)); done
    echo "$port"
}
controller_port=$(free_port 26817)
node_port=$(free_port $((controller_port + 1)) "$controller_port")

# 3. MUNGE with its own key and socket.
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
(no_inherited_fds munged --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed") \
    || die "munged did not start: $(tail -n 3 "$work/munge/munged.log" 2>/dev/null | tr '\n' ' ')"

# 4. slurm.conf: one node, this machine, no cgroups, no accounting.
host=$(hostname -s)
cat > "$SLURM_CONF" <<EOF
ClusterName=spconvlab-e2e
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$controller_port
SlurmdPort=$node_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/log/slurmctld.pid
SlurmdPidFile=$work/log/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1024 State=UNKNOWN
PartitionName=e2e Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

# 5. The daemons, in the foreground of background processes we own, at nice 19.
start_daemon() {
    (no_inherited_fds setsid sh -c '{ echo 19 > /proc/self/autogroup; } 2>/dev/null; exec nice -n 19 "$@"' sh "$@" -D -f "$SLURM_CONF") \
        > "$work/log/$1.out" 2>&1 &
    daemons+=("$!")
}
start_daemon slurmctld
start_daemon slurmd
say "slurmctld on port $controller_port and slurmd on $node_port, files in $work"
state=
for _ in $(seq 180); do
    state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    for pid in "${daemons[@]}"; do kill -0 "$pid" 2>/dev/null || die "a Slurm daemon exited: $(tail -n 5 "$work"/log/*.out | tr '\n' ' ')"; done
    sleep 1
done
[ "$state" = idle ] || die "node $host is '${state:-unknown}', not idle, after 180 s: $(tail -n 5 "$work/log/slurmctld.log" "$work/log/slurmd.log" | tr '\n' ' ')"

# probe-cli for the jobs: Slurm starts each job in a new session (a new autogroup at nice 0);
# this wrapper puts the job's autogroup back at 19, then runs the binary under test.
wrapper=$work/bin/probe-cli
printf '#!/bin/sh\n{ echo 19 > /proc/self/autogroup; } 2>/dev/null\nexec nice -n 19 %q "$@"\n' "$probe" > "$wrapper"
chmod 755 "$wrapper"

cli() { "$probe" "$@"; }
rows() { cli query --db "$1" --format csv "$2" | tail -n +2 | tr -d '\r'; }
job_field() { scontrol show job -o "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
wait_for_jobs() {  # job ids: waits until none is pending or running (at most $timeout s)
    local deadline=$(($(date +%s) + timeout))
    while [ -n "$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "jobs $* still queued or running after $timeout s: $(squeue | tr '\n' ' ')"
        sleep 2
    done
}
timeout=${SLURM_E2E_TIMEOUT:-1800}  # seconds per wait; a machine busy with other work is slow

# 6. The documented submission, with a tiny grid: vanilla + 3 ratios x 2 group counts = 7
# configurations; shards 1-3 hold two each, shard 4 one. Synthetic images, random weights.
cd "$work/sweep"
# shellcheck disable=SC2054  # the commas are inside flag values
grid=(--model resnet20 --ratios 1/4,1/2,3/4 --groups 1,2 --in-channels 1 --input-size 28
      --input "synthetic:${SLURM_E2E_IMAGES:-8}" --layers layer1.0,layer3.2 --batch 4)
exports=ALL,PROBE_CLI=$wrapper
jobs_submitted=1
array=$(sbatch --parsable --cpus-per-task=1 --export="$exports" "$repo/scripts/slurm/sweep.sbatch" "${grid[@]}")
merge=$(sbatch --parsable --dependency=afterany:"$array" --export="$exports" "$repo/scripts/slurm/merge.sbatch")
say "submitted sweep array $array (tasks 1-4) and merge $merge (afterany)"

# 7. Cancel task 2 once its first configuration is done and its second is being measured.
deadline=$(($(date +%s) + timeout))
while :; do
    if [ -e shard-2.sqlite ]; then
        counts=$(rows shard-2.sqlite "SELECT sum(status = 'done') || ' ' || sum(status = 'running') FROM runs" 2>/dev/null || true)
        [ "$counts" = "1 1" ] && break
        [ "${counts%% *}" = 2 ] && die "task 2 finished both configurations before it could be cancelled; make them slower (SLURM_E2E_IMAGES, now ${SLURM_E2E_IMAGES:-8})."
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "task 2 never reached its second configuration in $timeout s: $(squeue | tr '\n' ' ')"
    sleep 0.2
done
scancel "${array}_2"
say "cancelled task ${array}_2 while it measured its second configuration"
wait_for_jobs "$array" "$merge"

done_before=$(rows shard-2.sqlite "SELECT id || ' ' || variant || ' ' || coalesce(ratio, '-') || ' ' || coalesce(groups, '-') || ' ' || started_at || ' ' || finished_at FROM runs WHERE status = 'done'")
[ "$(rows shard-2.sqlite "SELECT count(*) FROM runs WHERE status = 'running'")" = 1 ] \
    || die "the cancelled task left no configuration running in shard-2.sqlite: $(rows shard-2.sqlite "SELECT variant, ratio, groups, status FROM runs" | tr '\n' ' ')"
[ ! -e shard-2.finished ] || die "the cancelled task wrote shard-2.finished"
state=$(job_field "${array}_2" JobState)
[ "$state" = CANCELLED ] || die "task ${array}_2 is $state, not CANCELLED"
for k in 1 3 4; do
    [ "$(job_field "${array}_$k" JobState)" = COMPLETED ] || die "task ${array}_$k is $(job_field "${array}_$k" JobState), not COMPLETED: $(cat "sweep-${array}_$k.out")"
done
runs_before=$(for k in 1 3 4; do rows "shard-$k.sqlite" "SELECT '$k ' || id || ' ' || started_at || ' ' || finished_at FROM runs"; done)

# 8. The merge ran after the cancelled task (afterany), merged nothing and said what to rerun.
log=merge-$merge.out
[ "$(job_field "$merge" JobState)" = FAILED ] || die "merge job $merge is $(job_field "$merge" JobState), not FAILED: $(cat "$log")"
[ ! -e all.sqlite ] || die "the failed merge wrote all.sqlite"
grep -q "^error: the sweep in $work/sweep is not finished, so nothing was merged: shard 2/4 (shard-2.sqlite) has spconv .* running" "$log" \
    || die "merge job $merge did not name the unfinished configuration: $(cat "$log")"
[ "$(grep -c . "$log")" = 1 ] || die "merge job $merge wrote more than its one error line: $(cat "$log")"
rerun_command=$(sed -n 's/.*Rerun those shards, and this merge after them, with: //p' "$log")
case $rerun_command in *"--array=2 "*) ;; *) die "the rerun command does not rerun task 2 alone: $rerun_command" ;; esac

# 9. Recovery, as documented: run the printed command in this shell (it sets $rerun to the
# rerun's job id and submits the new merge after it).
say "running the merge job's rerun command: $rerun_command"
rerun=
eval "$rerun_command" > submitted.txt
merge2=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' submitted.txt)
[ -n "$rerun" ] && [ -n "$merge2" ] || die "the rerun command did not submit a rerun and a merge job: $(cat submitted.txt)"
wait_for_jobs "$rerun" "$merge2"

rerun_log=sweep-${rerun}_2.out
[ "$(job_field "${rerun}_2" JobState)" = COMPLETED ] || die "rerun task ${rerun}_2 is $(job_field "${rerun}_2" JobState): $(cat "$rerun_log")"
grep -q "^shard 2/4 on " "$rerun_log" || die "the rerun did not run shard 2/4: $(cat "$rerun_log")"
grep -q "note: --release-running: 1 configuration(s) left running" "$rerun_log" \
    || die "the rerun did not take over the cancelled task's configuration: $(cat "$rerun_log")"
[ "$(job_field "$merge2" JobState)" = COMPLETED ] || die "merge job $merge2 is $(job_field "$merge2" JobState): $(cat "merge-$merge2.out")"

# 10. Every configuration once, finished, none measured twice; the report is there.
expected="vanilla - -
spconv 0.25 1
spconv 0.25 2
spconv 0.5 1
spconv 0.5 2
spconv 0.75 1
spconv 0.75 2"
configurations="SELECT variant || ' ' || coalesce(ratio, '-') || ' ' || coalesce(groups, '-') FROM runs"
merged=$(rows all.sqlite "$configurations WHERE status = 'done' ORDER BY variant DESC, ratio, groups")
[ "$merged" = "$expected" ] || die "all.sqlite does not hold each of the 7 configurations once, done: $(rows all.sqlite "SELECT variant, ratio, groups, status FROM runs" | tr '\n' ' ')"
[ "$(rows all.sqlite "SELECT count(*) FROM runs")" = 7 ] || die "all.sqlite has runs beyond the 7 configurations"
in_shards=$(for k in 1 2 3 4; do rows "shard-$k.sqlite" "$configurations"; done | sort)
[ "$in_shards" = "$(echo "$expected" | sort)" ] || die "the shard files do not hold each configuration exactly once: $(echo "$in_shards" | tr '\n' ';')"
while read -r id variant ratio groups started finished; do
    after=$(rows shard-2.sqlite "SELECT status || ' ' || started_at || ' ' || finished_at FROM runs WHERE id = $id")
    [ "$after" = "done $started $finished" ] || die "shard 2's run $id ($variant $ratio $groups), done before the rerun, was measured again: now '$after', was 'done $started $finished'"
    [ "$(rows all.sqlite "SELECT count(*) FROM runs WHERE variant || ' ' || coalesce(ratio, '-') || ' ' || coalesce(groups, '-') = '$variant $ratio $groups' AND started_at = '$started' AND finished_at = '$finished'")" = 1 ] \
        || die "all.sqlite lacks shard 2's first measurement of $variant $ratio $groups"
done <<< "$done_before"
[ -n "$done_before" ] || die "no run of shard 2 was done before the rerun"
runs_after=$(for k in 1 3 4; do rows "shard-$k.sqlite" "SELECT '$k ' || id || ' ' || started_at || ' ' || finished_at FROM runs"; done)
[ "$runs_after" = "$runs_before" ] || die "shards 1, 3 and 4 changed during the recovery"
[ -s report/index.html ] && [ -s report/runs.csv ] || die "merge job $merge2 wrote no report (report/index.html, report/runs.csv)"
grep -q "merged 7 configuration(s) of 4 shard(s)" "merge-$merge2.out" || die "merge job $merge2 did not report its merge: $(cat "merge-$merge2.out")"

# 11. Merging again rebuilds the same database and report.
first=$(rows all.sqlite "SELECT variant, ratio, groups, started_at, finished_at, macs FROM runs ORDER BY variant, ratio, groups")
merge3=$(sbatch --parsable --export="$exports" "$repo/scripts/slurm/merge.sbatch")
wait_for_jobs "$merge3"
[ "$(job_field "$merge3" JobState)" = COMPLETED ] || die "merging again (job $merge3) failed: $(cat "merge-$merge3.out")"
[ "$(rows all.sqlite "SELECT variant, ratio, groups, started_at, finished_at, macs FROM runs ORDER BY variant, ratio, groups")" = "$first" ] \
    || die "merging again changed all.sqlite"
[ -s report/index.html ] && [ ! -e report.partial ] && [ ! -e all.sqlite.partial ] || die "merging again left report/ or partial files wrong: $(ls)"

passed=1
say "passed in $(($(date +%s) - e2e_started)) s: 7 configurations in 4 shards, task 2 cancelled mid-shard and rerun as 2/4, merged once each"
