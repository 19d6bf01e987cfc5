#!/bin/sh
# The benchmark table: one line per row,
#   BENCH <row> ours=<n> ref=<n> unit=<unit> ratio=<ours/ref>
echo "bench: no rows yet. Rows will compare the qcow2 layer with a raw"
echo "bench: file and with qemu-img bench, measured in the same run."
exit 0
