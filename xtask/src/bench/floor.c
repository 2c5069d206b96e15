/* The spawn floor of `cargo xtask bench` (xtask/src/bench/floor.rs compiles it with `cc -O2`).
 *
 * `floor COUNT JOBS` runs `/bin/sh -c true` COUNT times, at most JOBS at once, and does nothing
 * else: each child is started with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + execve),
 * inherits this program's stdin, stdout and stderr, and is reaped with waitpid(-1), which makes
 * room for the next one. It exits 0 when every child exited 0, and 1 otherwise. This is the least
 * a task runner that runs each no-op task as `/bin/sh -c CMD` can cost; the harness times this
 * whole process, exactly as it times opsrun. */

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

extern char **environ;

static long positive(const char *text, const char *what) {
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < 1) {
        fprintf(stderr, "floor: %s must be a positive number, got `%s`\n", what, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: floor COUNT JOBS\n");
        return 2;
    }
    long count = positive(argv[1], "COUNT");
    long jobs = positive(argv[2], "JOBS");
    char *child_argv[] = {"sh", "-c", "true", NULL};
    long started = 0, running = 0;
    int failed = 0;
    while (started < count || running > 0) {
        while (started < count && running < jobs) {
            pid_t pid;
            int error = posix_spawn(&pid, "/bin/sh", NULL, NULL, child_argv, environ);
            if (error != 0) {
                fprintf(stderr, "floor: posix_spawn /bin/sh: %s\n", strerror(error));
                return 1;
            }
            started++;
            running++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            perror("floor: waitpid");
            return 1;
        }
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    return failed;
}
