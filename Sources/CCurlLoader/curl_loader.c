// libcurl, loaded when the first request is made rather than by the dynamic loader at start:
// linking it (directly or through Foundation's URLSession) made every `lake` command load curl
// and the thirty libraries it needs (TLS, Kerberos, LDAP, IDN...) before doing anything, about
// 6 ms of each command's start here, for stores that never speak to a bucket.
//
// The few entry points and option numbers used are libcurl's stable ABI (curl.h defines them
// as fixed numbers: CURLOPTTYPE_LONG 0, OBJECTPOINT 10000, FUNCTIONPOINT 20000, OFF_T 30000),
// so no header package is needed to build.
#define _GNU_SOURCE
#include "curl_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef void CURL;
struct curl_slist;
typedef int CURLcode;

enum {
    OPT_WRITEDATA = 10001,
    OPT_URL = 10002,
    OPT_ERRORBUFFER = 10010,
    OPT_POSTFIELDS = 10015,
    OPT_HTTPHEADER = 10023,
    OPT_HEADERDATA = 10029,
    OPT_CUSTOMREQUEST = 10036,
    OPT_TIMEOUT = 13,
    OPT_LOW_SPEED_LIMIT = 19,
    OPT_LOW_SPEED_TIME = 20,
    OPT_NOBODY = 44,
    OPT_CONNECTTIMEOUT = 78,
    OPT_HTTPGET = 80,
    OPT_BUFFERSIZE = 98,
    OPT_NOSIGNAL = 99,
    OPT_WRITEFUNCTION = 20011,
    OPT_HEADERFUNCTION = 20079,
    OPT_POSTFIELDSIZE_LARGE = 30120,
    INFO_RESPONSE_CODE = 0x200000 + 2,
    GLOBAL_DEFAULT = 3,
};

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_setopt)(CURL *, int, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static const char *load_failure;
static pthread_key_t handle_key;
static char load_message[512];

static void free_handle(void *handle) { curl.easy_cleanup(handle); }

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(load_message, sizeof load_message,
                 "libcurl is needed to reach a bucket and could not be loaded (%s); on Debian: apt install libcurl4", dlerror());
        load_failure = load_message;
        return;
    }
#define FIND(field, name) if (!(*(void **)&curl.field = dlsym(library, name))) { \
        snprintf(load_message, sizeof load_message, "libcurl.so.4 has no %s", name); load_failure = load_message; return; }
    FIND(global_init, "curl_global_init")
    FIND(easy_init, "curl_easy_init")
    FIND(easy_reset, "curl_easy_reset")
    FIND(easy_setopt, "curl_easy_setopt")
    FIND(easy_perform, "curl_easy_perform")
    FIND(easy_getinfo, "curl_easy_getinfo")
    FIND(easy_cleanup, "curl_easy_cleanup")
    FIND(easy_strerror, "curl_easy_strerror")
    FIND(slist_append, "curl_slist_append")
    FIND(slist_free_all, "curl_slist_free_all")
#undef FIND
    if (curl.global_init(GLOBAL_DEFAULT) != 0) { load_failure = "libcurl could not initialise"; return; }
    // A thread's handle (and the connections it keeps) goes with the thread.
    pthread_key_create(&handle_key, free_handle);
}

const char *lake_curl_load(void) {
    pthread_once(&loaded, load);
    return load_failure;
}

static size_t on_body(char *bytes, size_t size, size_t count, void *context) {
    const lake_http_request *request = context;
    return request->on_body(bytes, size * count, request->context);
}

static size_t on_header(char *bytes, size_t size, size_t count, void *context) {
    const lake_http_request *request = context;
    return request->on_header(bytes, size * count, request->context);
}

int lake_curl_perform(const lake_http_request *request, long *status, char *error, size_t capacity) {
    const char *failure = lake_curl_load();
    if (failure) {
        snprintf(error, capacity, "%s", failure);
        return -1;
    }
    CURL *handle = pthread_getspecific(handle_key);
    if (!handle) {
        handle = curl.easy_init();
        if (!handle) {
            snprintf(error, capacity, "libcurl could not make a handle");
            return -1;
        }
        pthread_setspecific(handle_key, handle);
    } else {
        curl.easy_reset(handle);  // options go; kept connections stay
    }
    char message[256] = "";
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < request->header_count; i++) headers = curl.slist_append(headers, request->headers[i]);
    // No "Expect: 100-continue" round trip before a body, and no form content type on one.
    headers = curl.slist_append(headers, "Expect:");
    headers = curl.slist_append(headers, "Content-Type:");

    curl.easy_setopt(handle, OPT_URL, request->url);
    curl.easy_setopt(handle, OPT_NOSIGNAL, 1L);
    curl.easy_setopt(handle, OPT_ERRORBUFFER, message);
    if (request->timeout_seconds > 0) curl.easy_setopt(handle, OPT_TIMEOUT, request->timeout_seconds);
    // A transfer that stalls (under 1 KiB/s for 30 s) ends, whatever its length: a whole blob
    // streamed in one request has no total time limit to end it.
    curl.easy_setopt(handle, OPT_LOW_SPEED_LIMIT, 1024L);
    curl.easy_setopt(handle, OPT_LOW_SPEED_TIME, 30L);
    curl.easy_setopt(handle, OPT_CONNECTTIMEOUT, 10L);
    curl.easy_setopt(handle, OPT_BUFFERSIZE, 512L * 1024);
    curl.easy_setopt(handle, OPT_HTTPHEADER, headers);
    curl.easy_setopt(handle, OPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(handle, OPT_WRITEDATA, (void *)request);
    curl.easy_setopt(handle, OPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(handle, OPT_HEADERDATA, (void *)request);
    if (strcasecmp(request->method, "HEAD") == 0) {
        curl.easy_setopt(handle, OPT_NOBODY, 1L);
    } else if (strcasecmp(request->method, "GET") == 0) {
        curl.easy_setopt(handle, OPT_HTTPGET, 1L);
    } else {
        curl.easy_setopt(handle, OPT_CUSTOMREQUEST, request->method);
        if (strcasecmp(request->method, "PUT") == 0 || strcasecmp(request->method, "POST") == 0) {
            // Given as the body of a POST, sent with the method above; an empty one says so.
            curl.easy_setopt(handle, OPT_POSTFIELDS, request->body_length ? request->body : "");
            curl.easy_setopt(handle, OPT_POSTFIELDSIZE_LARGE, (long long)request->body_length);
        }
    }
    CURLcode code = curl.easy_perform(handle);
    if (code == 0) {
        curl.easy_getinfo(handle, INFO_RESPONSE_CODE, status);
    } else {
        snprintf(error, capacity, "%s", message[0] ? message : curl.easy_strerror(code));
    }
    curl.easy_setopt(handle, OPT_HTTPHEADER, (void *)NULL);
    curl.easy_setopt(handle, OPT_ERRORBUFFER, (void *)NULL);
    curl.slist_free_all(headers);
    return code;
}
