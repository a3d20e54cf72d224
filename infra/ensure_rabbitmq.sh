#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers on the AMQP port: use one that runs, start an
# installed one, install it with the system package manager where we can, else explain.
set -u
host=${RABBIT_HOST:-127.0.0.1}; port=${RABBIT_PORT:-5672}
answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
wait_for_it() { for _ in $(seq 1 60); do answers && return 0; sleep 1; done; return 1; }

if [ -n "${AMQP_URI:-}" ]; then exit 0; fi        # an external broker was named: not ours to start
answers && exit 0
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "[infra] RabbitMQ is not installed: installing the Debian package rabbitmq-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    echo "[infra] RabbitMQ is not installed: installing it with sudo apt-get"
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
fi
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "[infra] RabbitMQ is needed on $host:$port and could not be installed here." >&2
  echo "        Install it (Debian/Ubuntu: apt-get install rabbitmq-server; macOS: brew install rabbitmq)" >&2
  echo "        or point AMQP_URI at a running broker." >&2
  exit 1
fi
echo "[infra] starting RabbitMQ"
rabbitmq-server -detached >/dev/null 2>&1 || service rabbitmq-server start >/dev/null 2>&1 || true
wait_for_it || { echo "[infra] RabbitMQ did not answer on $host:$port within 60 s" >&2; exit 1; }
