# shellcheck shell=sh
# export_env FILE: exports every NAME=VALUE line of FILE (a Compose env file: blank lines and `#`
# comments skipped, one pair of surrounding quotes taken off the value) into the environment, for
# `docker stack deploy`, which reads no env file of its own. Nothing is evaluated: a value is never
# run or expanded. A line that is not NAME=VALUE is refused by its number (its text may be a secret).
export_env() {
  env_number=0
  while IFS= read -r env_line || [ -n "$env_line" ]; do
    env_number=$((env_number + 1))
    case $env_line in
      '' | '#'*) continue ;;
    esac
    env_key=${env_line%%=*}
    case $env_key in
      "$env_line" | '' | [0-9]* | *[!A-Za-z0-9_]*)
        echo "$1:$env_number: not a NAME=VALUE line" >&2
        return 1
        ;;
    esac
    env_value=${env_line#*=}
    case $env_value in
      \"*\") env_value=${env_value#\"} env_value=${env_value%\"} ;;
      \'*\') env_value=${env_value#\'} env_value=${env_value%\'} ;;
    esac
    export "$env_key=$env_value"
  done < "$1"
}
