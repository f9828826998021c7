/* Reads every file named on standard input whole (open, read to the end, close), or only stats
 * it with -s, and prints the seconds taken: the loop a training loader runs over many small
 * samples, without an interpreter's cost per file. Used by smallread_bench.sh.
 *
 *   cc -O2 -o readall readall.c && find DIR -type f | ./readall [-s]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int stat_only = argc > 1 && strcmp(argv[1], "-s") == 0;
    size_t count = 0, capacity = 1024;
    char **paths = malloc(capacity * sizeof *paths);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!*line) continue;
        if (count == capacity) paths = realloc(paths, (capacity *= 2) * sizeof *paths);
        paths[count++] = strdup(line);
    }
    static char buffer[1 << 20];
    long long bytes = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (size_t i = 0; i < count; i++) {
        if (stat_only) {
            struct stat info;
            if (stat(paths[i], &info) != 0) { perror(paths[i]); return 1; }
            bytes += info.st_size;
            continue;
        }
        int fd = open(paths[i], O_RDONLY);
        if (fd < 0) { perror(paths[i]); return 1; }
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0) bytes += n;
        if (n < 0) { perror(paths[i]); return 1; }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%.6f %zu %lld\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9, count, bytes);
    return 0;
}
