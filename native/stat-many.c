/*
 * Sluice's native stat helper (optional; docs/intake-and-backup.md, "The native stat helper").
 *
 * One function for the scan's filesystem threads (src/intake/fs-thread-body.mjs):
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
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_BYTES 4096

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value stat_many(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4)
    return fail(env, "statMany(dir, names, sep, out): four arguments");
  bool is_buf = false;
  char *dir;
  size_t dir_len;
  char *names;
  size_t names_len;
  uint32_t sep;
  if (napi_is_buffer(env, argv[0], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[0], (void **)&dir, &dir_len) != napi_ok)
    return fail(env, "statMany: dir must be a Buffer");
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

  char path[NAME_MAX_BYTES + 1];
  if (dir_len > NAME_MAX_BYTES || memchr(dir, 0, dir_len) != NULL) return fail(env, "statMany: bad dir");
  memcpy(path, dir, dir_len);
  path[dir_len] = 0;
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

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "statMany", NAPI_AUTO_LENGTH, stat_many, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "statMany", fn) != napi_ok) return NULL;
  return exports;
}
