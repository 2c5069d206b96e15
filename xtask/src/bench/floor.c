/* The spawn floor of `cargo xtask bench` (xtask/src/bench/floor.rs compiles it with `cc -O2`).
 *
 * `floor COUNT JOBS` runs `/bin/sh -c true` COUNT times, at most JOBS at once, and does nothing
 * else: each child is started with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + execve),
 * inherits this program's stdin, stdout and stderr, and is reaped with waitpid(-1), which makes
 * room for the next one. It exits 0 when every child exited 0, and 1 otherwise. This is the least
 * a task runner that runs each no-op task as `/bin/sh -c CMD` can cost; the harness times this
 * whole process, exactly as it times opsrun.
 *
 * `floor COUNT JOBS capture` does the same but captures each child's stdout and stderr as a task
 * runner that shows, logs or masks output must: two pipes per child, read with poll(2) until both
 * reach end of file, then waitpid on that child. Its ratio to the plain floor is the cost of
 * capturing output, before any bookkeeping. */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* One running child of the capture mode: its pid and the read ends of its two pipes (-1 once
 * at end of file). */
struct child {
    pid_t pid;
    int fds[2];
};

static int capture(long count, long jobs, char **child_argv) {
    struct child *children = calloc((size_t)jobs, sizeof *children);
    struct pollfd *polled = calloc((size_t)jobs * 2, sizeof *polled);
    long *owner = calloc((size_t)jobs * 2, sizeof *owner);
    if (children == NULL || polled == NULL || owner == NULL) {
        perror("floor: calloc");
        return 1;
    }
    static char buffer[16384];
    long started = 0, running = 0;
    int failed = 0;
    while (started < count || running > 0) {
        for (long i = 0; i < jobs && started < count; i++) {
            if (children[i].pid != 0) continue;
            int out[2], err[2];
            if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
                perror("floor: pipe2");
                return 1;
            }
            posix_spawn_file_actions_t actions;
            posix_spawn_file_actions_init(&actions);
            posix_spawn_file_actions_adddup2(&actions, out[1], 1);
            posix_spawn_file_actions_adddup2(&actions, err[1], 2);
            int error = posix_spawn(&children[i].pid, "/bin/sh", &actions, NULL, child_argv, environ);
            posix_spawn_file_actions_destroy(&actions);
            if (error != 0) {
                fprintf(stderr, "floor: posix_spawn /bin/sh: %s\n", strerror(error));
                return 1;
            }
            close(out[1]);
            close(err[1]);
            children[i].fds[0] = out[0];
            children[i].fds[1] = err[0];
            started++;
            running++;
        }
        nfds_t n = 0;
        for (long i = 0; i < jobs; i++) {
            for (int k = 0; k < 2; k++) {
                if (children[i].pid != 0 && children[i].fds[k] >= 0) {
                    polled[n].fd = children[i].fds[k];
                    polled[n].events = POLLIN;
                    owner[n++] = i * 2 + k;
                }
            }
        }
        if (poll(polled, n, -1) < 0) {
            if (errno == EINTR) continue;
            perror("floor: poll");
            return 1;
        }
        for (nfds_t j = 0; j < n; j++) {
            if (polled[j].revents == 0) continue;
            if (read(polled[j].fd, buffer, sizeof buffer) > 0) continue;
            struct child *child = &children[owner[j] / 2];
            close(polled[j].fd);
            child->fds[owner[j] % 2] = -1;
            if (child->fds[0] < 0 && child->fds[1] < 0) {
                int status;
                if (waitpid(child->pid, &status, 0) < 0) {
                    perror("floor: waitpid");
                    return 1;
                }
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
                child->pid = 0;
                running--;
            }
        }
    }
    return failed;
}

int main(int argc, char **argv) {
    int captured = argc == 4 && strcmp(argv[3], "capture") == 0;
    if (argc != 3 && !captured) {
        fprintf(stderr, "usage: floor COUNT JOBS [capture]\n");
        return 2;
    }
    long count = positive(argv[1], "COUNT");
    long jobs = positive(argv[2], "JOBS");
    char *child_argv[] = {"sh", "-c", "true", NULL};
    if (captured) return capture(count, jobs, child_argv);
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
