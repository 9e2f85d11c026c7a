#!/bin/bash
# test/vm/vm-run.sh - ikegate's copy of the project test-bed runner (../shared/testbed/vm-run.sh,
# whose README lists the pitfalls it works around). It boots Debian's linux-image-cloud-amd64
# under QEMU (TCG here: the host's /dev/kvm is PVM and cannot run a stock kernel), lets the
# guest see the host's root read-only through virtio-fs with a RAM overlay, runs ONE command as
# root, streams its stdout/stderr and exits with its status (124: VM timeout, 125: VM failure).
# The host kernel has XFRM but no ESP; this guest kernel has both, so the kernel-ESP interop
# test (test/interop/kernel-esp.test.ts) runs its scenario through here.
#
# Changes against the shared runner: the boot-file cache defaults to test/vm/.cache
# (git-ignored; VMRUN_CACHE overrides it), the preload list adds the bridge the interop
# topology uses, and a missing package names the Debian package and scripts/test-deps.sh.
# Everything it needs is a Debian package that scripts/test-deps.sh installs.
#
# Usage: vm-run.sh [options] [--] 'shell snippet'
#        vm-run.sh [options] [--] prog arg...     (argv is quoted and kept)
#        vm-run.sh [options] < script.sh           (script read from stdin)
set -euo pipefail

VMRUN_VERSION=6           # bump to invalidate cached initramfs images
SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'EOF'
vm-run.sh - run a command in a QEMU VM (Debian cloud kernel, host rootfs visible)

usage: vm-run.sh [options] [--] 'shell snippet'      # one arg: run by bash
       vm-run.sh [options] [--] prog arg...          # several args: argv kept
       vm-run.sh [options] < script.sh               # no args: script on stdin

options:
  -a auto|kvm|tcg   accelerator (default: auto = kvm only if it can boot a
                    stock kernel, i.e. kvm_intel/kvm_amd present; tcg otherwise)
  -m MIB            guest memory (default 1024)
  -c N              guest vCPUs (default 1)
  -t SECONDS        kill the VM after SECONDS (default 600, 0 = never); exit 124
  -w DIR            share host DIR read-WRITE at the same path (repeatable)
  -e VAR=VALUE      set an environment variable for the command (repeatable)
  -E VAR            copy VAR from the host environment (repeatable)
  -C DIR            working directory in the guest (default: current dir)
  -M "mod ..."      extra kernel modules to modprobe before the command
  -k KERNEL         kernel image (default: newest /boot/vmlinuz-*-cloud-amd64)
  -T                print timings (boot, command, total) to stderr
  -v                verbose: stream the guest console (kernel log) to stderr
  -R                rebuild the cached vmlinux/initramfs
  -h                this help

exit status: the command's exit status; 124 timeout; 125 VM/setup failure.
env: VMRUN_ACCEL, VMRUN_MEM, VMRUN_SMP, VMRUN_TIMEOUT, VMRUN_KERNEL,
     VMRUN_CACHE (default: test/vm/.cache, git-ignored), VMRUN_MODULES (replaces the
     default preload list), VMRUN_APPEND (extra kernel command line).
EOF
}

# modules always pre-loaded in the guest (anything else is auto-loaded on
# demand by the kernel through the host's /sbin/modprobe + /lib/modules)
DEFAULT_MODULES="xfrm_user xfrm_algo esp4 esp6 ah4 ah6 xfrm4_tunnel xfrm6_tunnel
 tunnel4 tunnel6 xfrm_interface ipcomp ipcomp6 authenc authencesn echainiv seqiv
 gcm ccm ctr ghash_generic chacha20poly1305 aesni_intel ghash_clmulni_intel
 sha512_generic cmac xcbc veth dummy tun nf_tables nft_chain_nat nft_nat
 nft_masq nft_ct bridge"

ACCEL=${VMRUN_ACCEL:-auto}
MEM=${VMRUN_MEM:-1024}
SMP=${VMRUN_SMP:-1}
TIMEOUT=${VMRUN_TIMEOUT:-600}
KERNEL=${VMRUN_KERNEL:-}
CACHE=${VMRUN_CACHE:-$SELF_DIR/.cache}
MODULES=${VMRUN_MODULES-$DEFAULT_MODULES}
EXTRA_APPEND=${VMRUN_APPEND:-}
CWD=$PWD
VERBOSE=0 TIMINGS=0 REBUILD=0
RW_DIRS=() ENV_LINES=()

die() { echo "vm-run: $*" >&2; exit 125; }
log() { [ "$VERBOSE" = 1 ] && echo "vm-run: $*" >&2; return 0; }

while getopts ":a:m:c:t:w:e:E:C:M:k:TvRh" opt; do
  case $opt in
    a) ACCEL=$OPTARG ;;
    m) MEM=$OPTARG ;;
    c) SMP=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    w) d=$(realpath -e -- "$OPTARG") || die "-w: no such dir: $OPTARG"
       [ -d "$d" ] || die "-w: not a directory: $OPTARG"
       case $d in *[[:space:],]*) die "-w: path must not contain spaces or commas: $d";; esac
       [ "$d" != / ] || die "-w /: refusing to share the whole root read-write"
       RW_DIRS+=("$d") ;;
    e) [[ $OPTARG == [A-Za-z_]*=* ]] || die "-e expects VAR=VALUE"
       ENV_LINES+=("export ${OPTARG%%=*}=$(printf %q "${OPTARG#*=}")") ;;
    E) [ -n "${!OPTARG+x}" ] && ENV_LINES+=("export $OPTARG=$(printf %q "${!OPTARG}")") ;;
    C) CWD=$OPTARG ;;
    M) MODULES="$MODULES $OPTARG" ;;
    k) KERNEL=$OPTARG ;;
    T) TIMINGS=1 ;;
    v) VERBOSE=1 ;;
    R) REBUILD=1 ;;
    h) usage; exit 0 ;;
    :) die "option -$OPTARG needs an argument" ;;
    *) die "unknown option -$OPTARG (see -h)" ;;
  esac
done
shift $((OPTIND - 1))

# ---------------------------------------------------------------- the command
if [ $# -eq 0 ]; then
  [ -t 0 ] && die "no command given (and stdin is a terminal); see -h"
  USER_CMD=$(cat)
elif [ $# -eq 1 ]; then
  USER_CMD=$1
else
  USER_CMD=$(printf '%q ' "$@")
fi

T0=$EPOCHREALTIME

# ------------------------------------------------------------------ host bits
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not installed (apt-get install qemu-system-x86; scripts/test-deps.sh installs everything)"
VIRTIOFSD=/usr/lib/qemu/virtiofsd
[ -x "$VIRTIOFSD" ] || VIRTIOFSD=$(command -v virtiofsd) || die "virtiofsd not found (qemu-system-common 7.x ships /usr/lib/qemu/virtiofsd)"
BUSYBOX=$(command -v busybox) || die "busybox not installed (apt-get install busybox-static; scripts/test-deps.sh)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is dynamically linked; install busybox-static"; fi
[ "$(id -u)" = 0 ] || die "must run as root (virtiofsd, bind mounts)"
for tool in cpio:cpio modprobe:kmod timeout:coreutils; do
  command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} not installed (apt-get install ${tool#*:}; scripts/test-deps.sh)"
done

if [ -z "$KERNEL" ]; then
  KERNEL=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$KERNEL" ] || KERNEL=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$KERNEL" ] || die "no kernel in /boot (apt-get install linux-image-cloud-amd64; scripts/test-deps.sh)"
fi
[ -r "$KERNEL" ] || die "cannot read kernel $KERNEL"
KVER=$(basename "$KERNEL"); KVER=${KVER#vmlinuz-}
MODDIR=/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || die "no $MODDIR/modules.dep for kernel $KERNEL"

# ------------------------------------------------------- cached boot artefacts
KEY="$KVER-$(stat -Lc %s-%Y "$KERNEL")-v$VMRUN_VERSION"
ART=$CACHE/$KEY

extract_vmlinux() {   # $1 bzImage, $2 output ELF; returns 1 if impossible
  local img=$1 out=$2 magic tool off
  for pair in '\x02\x21\x4c\x18:lz4 -dc' '\x28\xb5\x2f\xfd:zstd -dcq' \
              '\xfd\x37\x7a\x58\x5a\x00:xz -dcq' '\x1f\x8b\x08:gzip -dcq' \
              '\x5d\x00\x00\x00:lzma -dcq' 'BZh:bzip2 -dcq' '\x89\x4c\x5a\x4f:lzop -dcq'; do
    magic=${pair%%:*} tool=${pair#*:}
    command -v "${tool%% *}" >/dev/null || continue
    for off in $(LC_ALL=C grep -aboP "$magic" "$img" 2>/dev/null | head -n 5 | cut -d: -f1); do
      tail -c +$((off + 1)) "$img" | $tool > "$out" 2>/dev/null || true
      if [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
        return 0
      fi
    done
  done
  rm -f "$out"; return 1
}

build_artefacts() {
  local tmp m
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
  log "building boot artefacts for $KVER in $ART"
  # 1. uncompressed vmlinux: qemu can boot it directly through the PVH entry
  #    point (CONFIG_PVH=y), skipping real-mode setup and decompression.
  # (XEN_ELFNOTE_PHYS32_ENTRY = 0x12 marks the PVH entry point)
  if extract_vmlinux "$KERNEL" "$tmp/vmlinux" &&
     [[ $(readelf -n "$tmp/vmlinux" 2>/dev/null) == *'Unknown note type: (0x00000012)'* ]]; then
    log "extracted PVH-bootable vmlinux"
  else
    rm -f "$tmp/vmlinux"; log "no PVH vmlinux; will boot the bzImage"
  fi
  # 2. initramfs: static busybox + the modules needed to mount the root
  local ird=$tmp/initramfs
  mkdir -p "$ird"/{bin,dev,proc,sys,lower,upper,newroot,lib/modules}
  cp "$BUSYBOX" "$ird/bin/busybox"
  : > "$ird/modules.order"
  for m in virtio_pci virtiofs overlay virtio_console; do
    modprobe -S "$KVER" --show-depends "$m" || { rm -rf "$tmp"; die "modprobe --show-depends $m failed"; }
  done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
    cp "$ko" "$ird/lib/modules/"
    echo "$(basename "$ko")" >> "$ird/modules.order"
  done
  write_init > "$ird/init"
  write_stage2 > "$ird/stage2"
  chmod 755 "$ird/init" "$ird/stage2"
  (cd "$ird" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) > "$tmp/initramfs.cpio"
  rm -rf "$ird"
  # check the preload list once, so typos show up at build time
  for m in $MODULES; do
    modinfo -k "$KVER" -F filename "$m" >/dev/null 2>&1 || log "warning: module $m not found for $KVER"
  done
  rm -rf "$ART"; mv "$tmp" "$ART"
  touch "$ART/.done"
  for old in "$CACHE/$KVER"-*; do   # drop artefacts of older script versions
    [ "$old" = "$ART" ] || rm -rf "$old"
  done
}

# --- guest stage 1 (PID 1 in the initramfs): mount host root, overlay, pivot
write_init() {
cat <<'EOF'
#!/bin/busybox sh
B=/bin/busybox
fail() { echo "vmt-init: FATAL: $*" > /dev/console; $B sleep 0.2; $B poweroff -f; }
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in $($B cat /modules.order); do
  $B insmod /lib/modules/$m || fail "insmod $m"
done
RUN= RW=
for x in $($B cat /proc/cmdline); do
  case $x in vmt.run=*) RUN=${x#*=} ;; vmt.rw=*) RW=${x#*=} ;; esac
done
$B mount -t virtiofs -o ro hostroot /lower || fail "mount virtiofs hostroot"
$B mount -t tmpfs -o mode=0755 tmpfs /upper
$B mkdir -p /upper/data /upper/work
$B mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot \
  || fail "mount overlay"
for d in proc sys dev; do $B mount --move /$d /newroot/$d; done
$B mkdir -p /newroot/dev/pts /newroot/dev/shm
$B mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /newroot/dev/pts
$B ln -sf pts/ptmx /newroot/dev/ptmx
$B mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
$B mount -t tmpfs -o mode=0755 tmpfs /newroot/run
$B mkdir -p /newroot/run/vmt /newroot/run/lock /newroot/run/netns
$B cp /bin/busybox /stage2 /newroot/run/vmt/
$B cp /lower$RUN/job.sh /newroot/run/vmt/job.sh || fail "no job script in $RUN"
i=0
for d in $(echo "$RW" | $B tr , ' '); do
  $B mkdir -p /newroot$d
  $B mount -t virtiofs rw$i /newroot$d || fail "mount rw share $d"
  i=$((i + 1))
done
exec $B switch_root /newroot /run/vmt/busybox sh /run/vmt/stage2
EOF
}

# --- guest stage 2 (PID 1 on the overlay root): modules, run job, power off
write_stage2() {
cat <<'EOF'
B=/run/vmt/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
OUT=/dev/null ERR=/dev/console CTL=
n=0
while [ -z "$CTL" ] && [ $n -lt 200 ]; do   # ports are announced asynchronously
  for p in /sys/class/virtio-ports/*; do
    case $($B cat "$p/name" 2>/dev/null) in
      vmt.out) OUT=/dev/${p##*/} ;; vmt.err) ERR=/dev/${p##*/} ;; vmt.ctl) CTL=/dev/${p##*/} ;;
    esac
  done
  [ -n "$CTL" ] || $B sleep 0.01
  n=$((n + 1))
done
[ -n "$CTL" ] || { echo "vmt-stage2: no vmt.ctl port" > /dev/console; CTL=/dev/null; }
exec 9> "$CTL"
up() { $B cut -d' ' -f1 /proc/uptime; }
echo "stage2 $(up)" >&9
$B hostname vmt
$B ip link set lo up
MODS=$($B sed -n 's/^# vmt-modules: //p' /run/vmt/job.sh)
[ -n "$MODS" ] && /sbin/modprobe -a -q $MODS 2> "$ERR"
echo "start $(up)" >&9
/bin/bash /run/vmt/job.sh < /dev/null > "$OUT" 2> "$ERR"
rc=$?
echo "rc $rc $(up)" >&9
exec 9>&-
$B reboot -f
EOF
}

mkdir -p "$CACHE"
exec {lockfd}>"$CACHE/.lock"
flock "$lockfd"
if [ "$REBUILD" = 1 ] || [ ! -f "$ART/.done" ]; then build_artefacts; fi
flock -u "$lockfd"
INITRD=$ART/initramfs.cpio
KIMG=$ART/vmlinux; [ -f "$KIMG" ] || KIMG=$KERNEL

# --------------------------------------------------------------- accelerator
kvm_can_boot_stock() {
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  [ "${VMRUN_AUTO_TRY_KVM:-0}" = 1 ] && return 0
  # PVM (pagetable-based VM, "nested_pvm") hosts only emulate non-PVM guests
  # and fail on cmpxchg16b/xsave; a stock Debian kernel does not boot there.
  [ -d /sys/module/kvm_pvm ] && return 1
  [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]
}
ACCEL_AUTO=0
case $ACCEL in
  auto) ACCEL_AUTO=1; if kvm_can_boot_stock; then ACCEL=kvm; else ACCEL=tcg; fi ;;
  kvm|tcg) ;;
  *) die "-a must be auto, kvm or tcg" ;;
esac
[[ $MEM =~ ^[0-9]+$ ]] && [ "$MEM" -ge 128 ] || die "-m: memory in MiB (>= 128)"
[[ $SMP =~ ^[0-9]+$ ]] && [ "$SMP" -ge 1 ] || die "-c: number of vCPUs"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "-t: seconds"
# with -a auto, a KVM boot that does not reach the guest's stage 2 in this
# many seconds is abandoned and redone with TCG
KVM_BOOT_DEADLINE=${VMRUN_KVM_BOOT_DEADLINE:-20}

# ------------------------------------------------------------------- the run
RUN=$(mktemp -d /tmp/vmt-run.XXXXXX)
PIDS=()
kill_pids() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  kill_pids
  if [ -n "${VMRUN_KEEP:-}" ]; then echo "vm-run: kept $RUN" >&2; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
  echo "# vmt-modules: $(echo $MODULES)"
  echo "export PATH=$(printf %q "$PATH")"
  echo "export HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb"
  for l in "${ENV_LINES[@]}"; do echo "$l"; done
  echo "cd -- $(printf %q "$CWD") 2>/dev/null || cd /"
  printf '%s\n' "$USER_CMD"
} > "$RUN/job.sh"

# virtiofsd for the read-only root: give it a read-only, non-recursive bind
# of / in a private mount namespace (so /proc, /sys, /dev of the host are
# not exported, and nothing can be written through it even by mistake).
# --thread-pool-size=0: its glib worker threads call sched_getaffinity, which
# virtiofsd's own seccomp filter forbids -> SIGSYS, and the guest hangs.
start_virtiofsd() {   # $1 socket, $2 source dir, $3 ro|rw, $4 log
  local sock=$1 src=$2 mode=$3 lg=$4 mnt
  mnt=$RUN/mnt.$(basename "$sock" .sock)
  mkdir -p "$mnt"
  unshare --mount --propagation private -- sh -c '
    mount --bind "$1" "$2" || exit 1
    if [ "$3" = ro ]; then mount -o remount,bind,ro "$2" || exit 1; fi
    exec "$4" --socket-path="$5" -o source="$2" -o cache=always -o sandbox=chroot \
         -o no_posix_lock -o no_flock --thread-pool-size=0 -o log_level=warn' \
    sh "$src" "$mnt" "$mode" "$VIRTIOFSD" "$sock" > "$lg" 2>&1 &
  PIDS+=($!)
}

RW_ARG=
[ ${#RW_DIRS[@]} -gt 0 ] && RW_ARG="vmt.rw=$(IFS=,; echo "${RW_DIRS[*]}")"
APPEND="console=ttyS0 loglevel=4 panic=-1 rdinit=/init mitigations=off reboot=t"
# no ACPI saves ~0.5s of TCG boot time, but then the kernel finds no MADT and
# brings up only one CPU (the PVH boot path has no MP table)
[ "$SMP" = 1 ] && APPEND+=" acpi=off"
APPEND+=" i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check"
APPEND+=" cryptomgr.notests random.trust_cpu=on vmt.run=$RUN $RW_ARG $EXTRA_APPEND"

boot_once() {   # $1 kvm|tcg; sets QRC T_QEMU T_END TIMED_OUT BOOT_ABANDONED
  local accel=$1 cpu i d s ok vfs_pids p deadline=0
  local -a accel_args devs timeout_cmd=()
  if [ "$accel" = kvm ]; then
    [ -w /dev/kvm ] || die "/dev/kvm not usable"
    cpu=host,-arch-capabilities   # PVM rejects MSR 0x10a (IA32_ARCH_CAPABILITIES)
    [ -d /sys/module/kvm_pvm ] && cpu=$cpu,-cx16,-xsave,-xsavec,-xsaves,-xsaveopt
    accel_args=(-accel kvm -cpu "$cpu")
    [ "$ACCEL_AUTO" = 1 ] && deadline=$KVM_BOOT_DEADLINE
  else
    accel_args=(-accel tcg,thread=multi -cpu max)
  fi
  log "kernel $KIMG ($KVER), accel $accel, ${MEM}M, $SMP cpu"
  rm -f "$RUN"/*.sock "$RUN/ctl" "$RUN/ctl.log"
  : > "$RUN/out"; : > "$RUN/err"; : > "$RUN/console.log"
  mkfifo "$RUN/ctl"

  start_virtiofsd "$RUN/vfs0.sock" / ro "$RUN/virtiofsd0.log"
  devs=(-chardev "socket,id=vfs0,path=$RUN/vfs0.sock"
        -device "vhost-user-fs-pci,chardev=vfs0,tag=hostroot")
  i=0
  for d in "${RW_DIRS[@]}"; do
    start_virtiofsd "$RUN/vfsrw$i.sock" "$d" rw "$RUN/virtiofsd-rw$i.log"
    devs+=(-chardev "socket,id=vfsrw$i,path=$RUN/vfsrw$i.sock"
           -device "vhost-user-fs-pci,chardev=vfsrw$i,tag=rw$i")
    i=$((i + 1))
  done
  vfs_pids=("${PIDS[@]}")
  for _ in $(seq 300); do   # wait for the vhost-user sockets (usually < 20 ms)
    ok=1
    [ -S "$RUN/vfs0.sock" ] || ok=0
    for ((j = 0; j < i; j++)); do [ -S "$RUN/vfsrw$j.sock" ] || ok=0; done
    [ $ok = 1 ] && break
    sleep 0.01
  done
  [ $ok = 1 ] || { cat "$RUN"/virtiofsd*.log >&2; die "virtiofsd did not start"; }

  # ctl channel reader: timestamps each line the guest writes
  ( while IFS= read -r line; do echo "$EPOCHREALTIME $line"; done < "$RUN/ctl" > "$RUN/ctl.log" ) &
  local ctlpid=$!

  [ "$TIMEOUT" != 0 ] && timeout_cmd=(timeout -s TERM -k 3 "$TIMEOUT")
  T_QEMU=$EPOCHREALTIME
  "${timeout_cmd[@]}" "$QEMU" -name vmt -nodefaults -no-user-config -display none -no-reboot \
    "${accel_args[@]}" -machine pc,memory-backend=mem -m "${MEM}M" -smp "$SMP" \
    -object "memory-backend-memfd,id=mem,size=${MEM}M,share=on" \
    -kernel "$KIMG" -initrd "$INITRD" -append "$APPEND" \
    -serial "file:$RUN/console.log" \
    "${devs[@]}" \
    -device virtio-serial-pci,id=vser \
    -chardev "file,id=out,path=$RUN/out" -device virtserialport,bus=vser.0,chardev=out,name=vmt.out \
    -chardev "file,id=err,path=$RUN/err" -device virtserialport,bus=vser.0,chardev=err,name=vmt.err \
    -chardev "file,id=ctl,path=$RUN/ctl" -device virtserialport,bus=vser.0,chardev=ctl,name=vmt.ctl \
    > "$RUN/qemu.log" 2>&1 &
  local qpid=$!
  PIDS+=("$qpid")

  # watchdog: if a virtiofsd dies the guest would hang on its next file
  # access; with -a auto, a KVM guest that does not boot is abandoned
  ( start=$SECONDS
    while kill -0 "$qpid" 2>/dev/null; do
      for p in "${vfs_pids[@]}"; do
        if ! kill -0 "$p" 2>/dev/null; then
          echo "vm-run: virtiofsd (pid $p) died; stopping the VM" >&2
          kill "$qpid" 2>/dev/null; exit 0
        fi
      done
      if [ "$deadline" != 0 ] && [ $((SECONDS - start)) -ge "$deadline" ] &&
         ! grep -q ' stage2 ' "$RUN/ctl.log" 2>/dev/null; then
        echo "abandoned" > "$RUN/boot-abandoned"
        kill "$qpid" 2>/dev/null; exit 0
      fi
      sleep 0.2
    done ) </dev/null >/dev/null 2>"$RUN/watchdog.log" &
  PIDS+=($!)

  # stream the command's output while it runs (tail exits when qemu does)
  local t1 t2 t3=
  tail -q -s 0.05 --pid="$qpid" -c +1 -f "$RUN/out" & t1=$!
  tail -q -s 0.05 --pid="$qpid" -c +1 -f "$RUN/err" >&2 & t2=$!
  if [ "$VERBOSE" = 1 ]; then
    tail -q -s 0.05 --pid="$qpid" -c +1 -f "$RUN/console.log" >&2 & t3=$!
  fi

  QRC=0; wait "$qpid" || QRC=$?
  T_END=$EPOCHREALTIME
  # unblock the ctl reader if qemu never opened the FIFO (O_RDWR never blocks;
  # qemu writes to it as a write-only "file" chardev, so nothing reads it back)
  local fifofd
  exec {fifofd}<>"$RUN/ctl"; exec {fifofd}>&-
  TIMED_OUT=0
  [ "$TIMEOUT" != 0 ] && { [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; } && TIMED_OUT=1
  BOOT_ABANDONED=0
  [ -e "$RUN/boot-abandoned" ] && BOOT_ABANDONED=1 && rm -f "$RUN/boot-abandoned"
  wait "$t1" "$t2" $t3 2>/dev/null || true
  wait "$ctlpid" 2>/dev/null || true
  kill_pids   # virtiofsd instances, watchdog
}

boot_once "$ACCEL"
if [ "$ACCEL" = kvm ] && [ "$ACCEL_AUTO" = 1 ] && [ "$TIMED_OUT" = 0 ] &&
   ! grep -q ' stage2 ' "$RUN/ctl.log" 2>/dev/null; then
  echo "vm-run: KVM boot failed (qemu exit $QRC$([ "$BOOT_ABANDONED" = 1 ] && echo ", no boot in ${KVM_BOOT_DEADLINE}s")); retrying with TCG" >&2
  sed 's/^/  qemu| /' "$RUN/qemu.log" | head -n 5 >&2
  ACCEL=tcg
  boot_once tcg
fi

# ---------------------------------------------------------------- the result
RC=125
rcline=$(grep ' rc ' "$RUN/ctl.log" 2>/dev/null | tail -n1 || true)
if [ -n "$rcline" ]; then
  RC=$(echo "$rcline" | awk '{print $3}')
elif [ "$TIMED_OUT" = 1 ]; then
  echo "vm-run: timeout after ${TIMEOUT}s, VM killed" >&2; RC=124
else
  echo "vm-run: VM ended without a result (qemu exit $QRC); last console lines:" >&2
  tail -n 25 "$RUN/console.log" | sed 's/^/  | /' >&2
  sed 's/^/  qemu| /' "$RUN/qemu.log" >&2
  for f in "$RUN"/virtiofsd*.log "$RUN/watchdog.log"; do sed 's/^/  vm-run| /' "$f" >&2; done
fi

if [ "$TIMINGS" = 1 ]; then
  awk -v t0="$T0" -v tq="$T_QEMU" -v te="$T_END" -v accel="$ACCEL" '
    $2 == "start" { ts = $1; gs = $3 }
    $2 == "rc"    { tr = $1; gr = $4 }
    END {
      printf "vm-run: timings (%s): setup %.2fs", accel, tq - t0
      if (ts) printf ", boot (qemu launch -> command start) %.2fs [guest uptime %.2fs]", ts - tq, gs
      if (tr) printf ", command %.2fs", tr - ts
      printf ", total %.2fs\n", te - t0
    }' "$RUN/ctl.log" >&2
fi
exit "$RC"
