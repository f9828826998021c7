#ifndef LAKE_CURL_LOADER_H
#define LAKE_CURL_LOADER_H

#include <stddef.h>

/// Receives bytes of a response (its body, or one header line); returns how many it took
/// (fewer than `count` ends the transfer with an error).
typedef size_t (*lake_http_sink)(const char *bytes, size_t count, void *context);

/// One HTTP request, made on the calling thread.
typedef struct {
    const char *method;            // GET, HEAD, PUT, POST, DELETE
    const char *url;
    const char *const *headers;    // "Name: value", sent as given
    size_t header_count;
    const void *body;              // sent for PUT and POST (may be empty)
    size_t body_length;
    long timeout_seconds;          // the whole transfer; 0: none (a stalled one still ends)
    lake_http_sink on_body;
    lake_http_sink on_header;
    void *context;
} lake_http_request;

/// Loads libcurl the first time it is called (any thread): NULL once it is loaded, else a
/// sentence saying why it could not be.
const char *lake_curl_load(void);

/// Makes `request` on this thread's own handle, which keeps its connections between requests.
/// Returns 0 with the HTTP status in `status`, or libcurl's nonzero code with a message in
/// `error` (`capacity` ≥ 256 bytes).
int lake_curl_perform(const lake_http_request *request, long *status, char *error, size_t capacity);

#endif
