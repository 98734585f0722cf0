# shellcheck shell=sh
# end_channels SESSION: every other command of this SSH connection (the other children of its sshd
# process SESSION, each in a process group of its own) gets SIGTERM, then SIGKILL after 3 s. Processes
# that left their group on purpose (a guard started with setsid) are not touched.
end_channels() {
  session=$1
  case $(cat "/proc/$session/comm" 2> /dev/null || true) in
    sshd*) ;;
    *) return 0 ;;
  esac
  groups=$(ps -eo pid=,ppid= | awk -v s="$session" -v me="$$" '$2 == s && $1 != me { print $1 }' | tr '\n' ' ')
  [ -n "$groups" ] || return 0
  echo "ending the other commands of this SSH connection (process groups $groups)"
  for group in $groups; do kill -TERM "-$group" 2> /dev/null || true; done
  i=0
  while [ "$i" -lt 30 ] && ps -eo pgid=,stat= | awk -v list=" $groups " 'index(list, " " $1 " ") > 0 && $2 !~ /^Z/ { found = 1 } END { exit !found }'; do
    i=$((i + 1))
    sleep 0.1
  done
  for group in $groups; do kill -KILL "-$group" 2> /dev/null || true; done
}
