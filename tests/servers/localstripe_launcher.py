"""Serves localstripe's aiohttp app on 127.0.0.1 for lexgate's tests, never its `localstripe`
command: that binds every interface and reads and writes a shared /tmp/localstripe.pickle.
Here the store stays in memory and dies with the process.

    python localstripe_launcher.py PORT
"""

import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: localstripe_launcher.py PORT")
    port = int(sys.argv[1])
    # No shared pickle: the test's data lives and dies with this process.
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    resources.store.clear()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
