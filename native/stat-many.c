/*
 * Sluice's native stat helper (optional; docs/intake-and-backup.md, "The native stat helper").
 *
 * For the scan's filesystem threads (src/intake/fs-thread-body.mjs, through
 * src/intake/native-stat.mjs): a folder's listing in parts (openDir / readNames / closeDir, below)
 * and the lstat of a list of names:
 *
 *   statMany(dir: Buffer, names: Buffer, sep: number, out: Float64Array) -> number
 *
 * `names` holds the names of entries of `dir` as bytes, separated by the byte `sep`. For the i-th
 * name it writes (size, mtimeMs, kind) at out[3i..3i+2], as lstat of dir/name: kind 1 a file, 2 a
 * folder, 3 anything else (a symlink is not followed), 0 gone (ENOENT; size and mtime 0), 4 another
 * error (out[3i] holds its errno; the caller asks Node again for the error in full). mtimeMs is computed as Node
 * computes Stats.mtimeMs (sec * 1e3 + nsec / 1e6, in doubles), so both paths give equal values.
 * Returns the number of names, or -errno when `dir` cannot be opened (the caller then uses the
 * pure-Node path for the batch, which reports that error as it always did).
 *
 * Why: one open(dir) and fstatat per name, with no per-call object, path string or Date, costs
 * about a third of the user time of fs.lstatSync (h54's measurements, /work/notes/old). Node-API
 * only, context-aware (NAPI_MODULE_INIT), so it loads in worker threads and any Node >= 18.
 * Built by scripts/build-native.mjs with the system C compiler; nothing needs it to exist.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_BYTES 4096

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* The call's arguments, exactly n of them. */
static bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  return napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == n;
}

/* A path given as a Buffer, into `path` (NAME_MAX_BYTES + 1 bytes) with a NUL at its end. */
static bool path_arg(napi_env env, napi_value v, char *path) {
  bool is_buf = false;
  char *data;
  size_t len;
  if (napi_is_buffer(env, v, &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, v, (void **)&data, &len) != napi_ok || len > NAME_MAX_BYTES ||
      memchr(data, 0, len) != NULL)
    return false;
  memcpy(path, data, len);
  path[len] = 0;
  return true;
}

static napi_value stat_many(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return fail(env, "statMany(dir, names, sep, out): four arguments");
  char path[NAME_MAX_BYTES + 1];
  if (!path_arg(env, argv[0], path)) return fail(env, "statMany: dir must be a Buffer holding a path");
  bool is_buf = false;
  char *names;
  size_t names_len;
  uint32_t sep;
  if (napi_is_buffer(env, argv[1], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[1], (void **)&names, &names_len) != napi_ok)
    return fail(env, "statMany: names must be a Buffer");
  if (napi_get_value_uint32(env, argv[2], &sep) != napi_ok || sep > 255)
    return fail(env, "statMany: sep must be a byte value");
  napi_typedarray_type type;
  size_t out_len;
  void *out_data;
  if (napi_get_typedarray_info(env, argv[3], &type, &out_len, &out_data, NULL, NULL) != napi_ok ||
      type != napi_float64_array)
    return fail(env, "statMany: out must be a Float64Array");
  double *out = out_data;

  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  napi_value result;
  if (dfd < 0) {
    napi_create_int32(env, -errno, &result);
    return result;
  }
  size_t i = 0;
  size_t start = 0;
  while (start <= names_len && names_len > 0) {
    const char *p = memchr(names + start, (int)sep, names_len - start);
    size_t end = p ? (size_t)(p - names) : names_len;
    if (3 * i + 2 >= out_len) break;
    size_t len = end - start;
    double *o = out + 3 * i;
    if (len == 0 || len > NAME_MAX_BYTES || memchr(names + start, 0, len) != NULL) {
      o[0] = 0;
      o[1] = 0;
      o[2] = len == 0 ? 0 : 4; /* an empty name is no entry; a NUL in one is an error Node reports */
    } else {
      memcpy(path, names + start, len);
      path[len] = 0;
      struct stat st;
      if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        o[0] = (double)st.st_size;
        o[1] = (double)st.st_mtim.tv_sec * 1e3 + (double)st.st_mtim.tv_nsec / 1e6;
        o[2] = S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 3;
      } else {
        o[0] = errno == ENOENT ? 0 : errno;
        o[1] = 0;
        o[2] = errno == ENOENT ? 0 : 4;
      }
    }
    i++;
    if (!p) break;
    start = end + 1;
  }
  close(dfd);
  napi_create_int32(env, (int32_t)i, &result);
  return result;
}

/*
 * The listing: openDir(dir: Buffer) -> handle | -errno; readNames(handle, max) -> Buffer | null
 * (up to `max` names, '.' and '..' left out, each followed by a NUL byte, which no name holds; null
 * at the end; throws on a read error); closeDir(handle). A handle not closed is closed when it is
 * garbage-collected.
 */
typedef struct {
  DIR *d;
} dir_handle;

static void dir_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  dir_handle *h = data;
  if (h->d) closedir(h->d);
  free(h);
}

static dir_handle *handle_of(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) return NULL;
  return data;
}

static napi_value open_dir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[NAME_MAX_BYTES + 1];
  if (!get_args(env, info, 1, argv) || !path_arg(env, argv[0], path))
    return fail(env, "openDir(dir): dir must be a Buffer holding a path");
  napi_value result;
  DIR *d = opendir(path);
  if (d == NULL) {
    napi_create_int32(env, -errno, &result);
    return result;
  }
  dir_handle *h = malloc(sizeof *h);
  if (h == NULL) {
    closedir(d);
    return fail(env, "openDir: out of memory");
  }
  h->d = d;
  if (napi_create_external(env, h, dir_finalize, NULL, &result) != napi_ok) {
    closedir(d);
    free(h);
    return fail(env, "openDir: cannot make a handle");
  }
  return result;
}

static napi_value read_names(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t max;
  if (!get_args(env, info, 2, argv) || napi_get_value_uint32(env, argv[1], &max) != napi_ok)
    return fail(env, "readNames(handle, max)");
  dir_handle *h = handle_of(env, argv[0]);
  if (h == NULL || h->d == NULL) return fail(env, "readNames: the folder is not open");
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return fail(env, "readNames: out of memory");
  uint32_t n = 0;
  int read_errno = 0;
  while (n < max) {
    errno = 0;
    struct dirent *e = readdir(h->d);
    if (e == NULL) {
      read_errno = errno;
      break;
    }
    const char *name = e->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t l = strlen(name);
    if (len + l + 1 > cap) {
      while (len + l + 1 > cap) cap *= 2;
      char *more = realloc(buf, cap);
      if (more == NULL) {
        free(buf);
        return fail(env, "readNames: out of memory");
      }
      buf = more;
    }
    memcpy(buf + len, name, l);
    buf[len + l] = 0;
    len += l + 1;
    n++;
  }
  napi_value result;
  if (read_errno != 0) {
    free(buf);
    napi_value code, msg, err;
    char text[64];
    snprintf(text, sizeof text, "readdir failed (errno %d)", read_errno);
    napi_create_int32(env, read_errno, &code);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_set_named_property(env, err, "errno", code);
    napi_throw(env, err);
    return NULL;
  }
  if (n == 0) {
    free(buf);
    napi_get_null(env, &result);
    return result;
  }
  napi_status st = napi_create_buffer_copy(env, len, buf, NULL, &result);
  free(buf);
  if (st != napi_ok) return fail(env, "readNames: cannot make a Buffer");
  return result;
}

static napi_value close_dir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return fail(env, "closeDir(handle)");
  dir_handle *h = handle_of(env, argv[0]);
  if (h != NULL && h->d != NULL) {
    closedir(h->d);
    h->d = NULL;
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor fns[] = {
      {"statMany", NULL, stat_many, NULL, NULL, NULL, napi_default, NULL},
      {"openDir", NULL, open_dir, NULL, NULL, NULL, napi_default, NULL},
      {"readNames", NULL, read_names, NULL, NULL, NULL, napi_default, NULL},
      {"closeDir", NULL, close_dir, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  return exports;
}
