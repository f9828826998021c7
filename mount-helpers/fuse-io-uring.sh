# Sourced by quick-start.sh and run-tests.sh. Lets FUSE requests travel over io_uring
# (Linux 6.14+): the kernel then queues each request on the ring of the CPU that made it and
# `lake mount` answers it on that CPU (docs/mounting.md). It is a kernel-wide switch, off by
# default; needs root. `lake mount -o no_io_uring` keeps one mount on /dev/fuse regardless.
lake_enable_fuse_io_uring() {
    local switch=/sys/module/fuse/parameters/enable_uring
    if [ ! -e "$switch" ]; then
        echo "This kernel has no FUSE over io_uring; lake mounts will use /dev/fuse."
    elif [ "$(cat "$switch")" = "Y" ]; then
        :
    elif [ -w "$switch" ] && echo Y > "$switch" 2>/dev/null; then
        echo "Turned on FUSE over io_uring (fuse.enable_uring=Y)."
    else
        echo "Could not turn on FUSE over io_uring (needs root); lake mounts will use /dev/fuse."
    fi
}
