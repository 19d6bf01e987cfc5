#!/bin/sh
# The guided tour: boots a Linux guest on vioblk through vhost-user-blk.
echo "demo: not built yet. It will create a base image holding a file"
echo "demo: system with a welcome file and a qcow2 image over it, serve it"
echo "demo: with vioblk, boot a Linux guest under qemu that reads the file"
echo "demo: and writes a new one, then show vioblkctl info, qemu-img check"
echo "demo: and the new file read back on the host."
exit 0
