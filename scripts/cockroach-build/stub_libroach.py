"""Write a C stand-in for CockroachDB v20.1's libroach (its RocksDB engine) from libroach.h.

The module zip lacks RocksDB and libroach (git submodules). The build makes Pebble the
default engine, so the RocksDB engine is never opened; its C API only has to link. Every
function answers "not built" (an error status, a zero value or NULL), except the file lock,
which the store directory needs for real: DBLockFile/DBUnlockFile take an fcntl write lock.

    python3 stub_libroach.py path/to/libroach.h > libroach_stub.c
"""

from __future__ import annotations

import re
import sys

MESSAGE = "RocksDB is not built into this binary (Pebble only)"

PROLOGUE = f"""\
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libroach.h"

static DBStatus stub_status(const char* msg) {{
  DBStatus s;
  s.len = strlen(msg);
  s.data = malloc(s.len);
  memcpy(s.data, msg, s.len);
  return s;
}}

static DBStatus not_built(void) {{ return stub_status("{MESSAGE}"); }}

DBStatus DBLockFile(DBSlice filename, DBFileLock* lock) {{
  char* path = strndup(filename.data, filename.len);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  free(path);
  if (fd < 0) return stub_status(strerror(errno));
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &fl) != 0) {{
    int err = errno;
    close(fd);
    return stub_status(strerror(err));
  }}
  int* handle = malloc(sizeof(int));
  *handle = fd;
  *lock = handle;
  return (DBStatus){{NULL, 0}};
}}

DBStatus DBUnlockFile(DBFileLock lock) {{
  int* handle = lock;
  if (handle == NULL) return (DBStatus){{NULL, 0}};
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  int rc = fcntl(*handle, F_SETLK, &fl);
  int err = errno;
  close(*handle);
  free(handle);
  return rc == 0 ? (DBStatus){{NULL, 0}} : stub_status(strerror(err));
}}
"""

PROTOTYPE = re.compile(r"^([A-Za-z_][\w ]*?[\w*]\s*\**)\s*\b(\w+)\(([^;{]*)\)\s*;", re.M)
STRUCT = re.compile(r"typedef struct \{(.*?)\}\s*(\w+);", re.S)
HANDWRITTEN = {"DBLockFile", "DBUnlockFile"}


def stub(ret: str, name: str, params: str, with_status: set[str]) -> str:
    ret = " ".join(ret.split())
    params = " ".join(params.split()) or "void"
    head = f"{ret} {name}({params})"
    if ret == "void":
        return f"{head} {{}}\n"
    if ret == "DBStatus":
        return f"{head} {{ return not_built(); }}\n"
    if ret.endswith("*"):
        return f"{head} {{ return NULL; }}\n"
    if ret == "bool":
        return f"{head} {{ return false; }}\n"
    body = f"  {ret} r;\n  memset(&r, 0, sizeof r);\n"
    if ret in with_status:
        body += "  r.status = not_built();\n"
    return f"{head} {{\n{body}  return r;\n}}\n"


def main(header_path: str) -> None:
    header = open(header_path).read()
    code = re.sub(r"//[^\n]*", "", header)
    with_status = {
        name for fields, name in STRUCT.findall(code) if re.search(r"\bDBStatus status;", fields)
    }
    out = [PROLOGUE]
    seen = set()
    for ret, name, params in PROTOTYPE.findall(code):
        if name in HANDWRITTEN or name in seen or ret.strip().startswith("typedef"):
            continue
        seen.add(name)
        out.append(stub(ret, name, params, with_status))
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
