#!/bin/sh
# The official redis image's entrypoint, as the project relies on it: options or a .conf file alone
# mean `redis-server` with them; `redis-server` started as root gives /data to redis and re-runs as
# redis (gosu); any other command, e.g. `sh -c 'exec redis-server …'`, runs as the container's user.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec gosu redis "$0" "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
    umask 0077
fi
exec "$@"
