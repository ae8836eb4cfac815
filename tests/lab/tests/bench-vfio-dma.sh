# The VFIO DMA map/unmap benchmark (benches/vfio-dma.c), on edu, with 2 MiB hugepages reserved
# for it. Not part of the lab suite (names starting "bench-" run only when asked for):
#   tests/lab/lab.sh --bin build/cli/iovctl --bin build/benches/vfio-dma-bench bench-vfio-dma
. /lab/lib.sh

command -v vfio-dma-bench >/dev/null || skip "vfio-dma-bench is not in the guest image"
mib=1024
edu=$(pci_find $EDU_VENDOR $EDU_DEVICE) || fail "no edu device"
trap 'iovctl restore --all >/dev/null 2>&1; echo 0 > /proc/sys/vm/nr_hugepages' EXIT
echo $((mib / 2 + 8)) > /proc/sys/vm/nr_hugepages
iovctl bind "$edu" >/dev/null || fail "bind"
# type1 allows 65535 mappings by default; 4 KiB mappings of the buffer need more.
echo $((mib * 256 + 1024)) > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit
grep -m1 'model name' /proc/cpuinfo | sed 's/^/  guest /'
vfio-dma-bench "$edu" "$mib" || fail "vfio-dma-bench exited $?"
