"""A pass-through FUSE filesystem that can hang, like an NFS or SMB share whose server stopped answering.

Usage: python3 hangfs.py <backing dir> <mount point> <control file>

The control file decides, at each call, what hangs: absent or empty: nothing; `read`: reading file
data (open, stat and listing still answer: a share whose data path is stuck); `all`: every call
below the mount point (stat and listing too). A hung call waits until the control file no longer
asks for it, then answers normally: the share "came back". Used by test/hung-share.test.ts.
"""
import errno
import os
import sys
import time

from fusepy import FUSE, FuseOSError, Operations


class HangFs(Operations):
    def __init__(self, root, control):
        self.root = root
        self.control = control

    def _mode(self):
        try:
            with open(self.control) as f:
                return f.read().strip()
        except OSError:
            return ''

    def _wait(self, op):
        while True:
            mode = self._mode()
            if mode == 'all' or (mode == 'read' and op == 'read'):
                time.sleep(0.05)
                continue
            return

    def _p(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def getattr(self, path, fh=None):
        self._wait('getattr')
        try:
            st = os.lstat(self._p(path))
        except OSError as e:
            raise FuseOSError(e.errno)
        keys = ('st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size', 'st_uid')
        out = {k: getattr(st, k) for k in keys}
        out['st_mtime'] = st.st_mtime_ns / 1e9
        out['st_atime'] = st.st_atime_ns / 1e9
        return out

    def readdir(self, path, fh):
        self._wait('readdir')
        return ['.', '..'] + os.listdir(self._p(path))

    def open(self, path, flags):
        self._wait('open')
        return os.open(self._p(path), flags)

    def read(self, path, size, offset, fh):
        self._wait('read')
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)

    def statfs(self, path):
        self._wait('statfs')
        st = os.statvfs(self._p(path))
        keys = ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag',
                'f_frsize', 'f_namemax')
        return {k: getattr(st, k) for k in keys}


if __name__ == '__main__':
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    FUSE(HangFs(sys.argv[1], sys.argv[3]), sys.argv[2], foreground=True, nothreads=False, ro=True,
         allow_other=False, attr_timeout=0, entry_timeout=0, negative_timeout=0, direct_io=True)
