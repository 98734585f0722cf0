# shellcheck shell=sh
# read_only DIR: every file and folder under DIR (DIR too) without any write bit and without the
# setuid, setgid and sticky bits. Folders keep r-x, so the tree can still be read and, after
# `chmod -R u+w`, removed (retention does that).
read_only() {
  chmod -R a-w,u-s,g-s,o-t -- "$1"
}
