# bash completion for iovctl: commands, their subcommands and options, guest names from
# iovkitd (when it answers), PCI addresses from sysfs.
_iovctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --root) ((i++)) ;;
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "host devices groups group bind sriov vf pool rdma switch rpc vgpu vm daemon events demo restore
            help --root --json --help --version" -- "$cur"))
        return
    fi
    local sub=${COMP_WORDS[i + 1]:-}
    case $cmd in
    vm)
        if [ $COMP_CWORD -eq $((i + 1)) ]; then
            COMPREPLY=($(compgen -W "list create start stop info destroy" -- "$cur"))
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--socket --kernel --initrd --cmdline --memory --cpus --nic --disk --timeout --vfio-user --vfio --hugepages --force --wait --json" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(iovctl --json vm list 2>/dev/null | grep -o '"name":"[^"]*"' | cut -d'"' -f4)" -- "$cur"))
        fi ;;
    vgpu) COMPREPLY=($(compgen -W "list types instances create remove define undefine definitions start-defined
            vf-type mig sched sched-set plan best-effort equal-share fixed-share --uuid --no-autostart --existing
            --timeslice-us --arr --frequency --avg-factor --json A100-40GB A100-80GB H100-80GB H200-141GB" -- "$cur")) ;;
    daemon) COMPREPLY=($(compgen -W "status shutdown --socket --stop-children --json" -- "$cur")) ;;
    events) COMPREPLY=($(compgen -W "--socket --count --timeout --json" -- "$cur")) ;;
    demo) COMPREPLY=($(compgen -W "--socket --pings --frames --size --keep --json" -- "$cur")) ;;
    switch)
        COMPREPLY=($(compgen -W "info ports stats add del xconnect pool-assign pool-release pools blk-add blk-del blks
            --socket --vhost --client --queues --dpdk --vmdq-pools --vlan --mtu --mac --none --no-broadcast --multicast
            --image --readonly --serial --poll-us --json" -- "$cur")) ;;
    sriov) COMPREPLY=($(compgen -W "set apply save recover --numvfs --vfio --autoprobe --json" -- "$cur")) ;;
    vf) COMPREPLY=($(compgen -W "show set --mac --vlan --qos --vlan-proto --spoofchk --trust --link-state --min-rate
            --max-rate --json" -- "$cur")) ;;
    pool) COMPREPLY=($(compgen -W "list define delete alloc release --vendor --device --driver --pf --pf-netdev
            --link-type --rdma --defaults --json" -- "$cur")) ;;
    bind | restore | group)
        COMPREPLY=($(compgen -W "$(ls /sys/bus/pci/devices 2>/dev/null) --driver --force --all --json" -- "$cur")) ;;
    rpc) COMPREPLY=($(compgen -W "--socket --json" -- "$cur")) ;;
    host) COMPREPLY=($(compgen -W "--check --json" -- "$cur")) ;;
    devices) COMPREPLY=($(compgen -W "--class net storage gpu accelerator bridge other --json" -- "$cur")) ;;
    help) COMPREPLY=($(compgen -W "host devices groups group bind sriov vf pool rdma switch rpc vgpu vm daemon events demo
            restore" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
    esac
}
complete -F _iovctl iovctl
