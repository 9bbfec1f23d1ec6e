/* chasm-agent: pid 1 of a bubblewrap sandbox; forks the commands the server asks for.
 *
 * It runs inside the sandbox exactly like any command: as the sandbox uid, with every
 * capability dropped, no_new_privs, in the session's cgroups. It never gains anything: a request
 * only makes it fork `/bin/sh -c COMMAND` as itself, which the sandbox user can do anyway.
 *
 * Protocol (see agent.py): the server connects to the abstract unix socket "chasm-agent" of the
 * sandbox's network namespace (SOCK_SEQPACKET: one message per request or reply).
 *   request  "X" flags NUL cwd NUL command NUL (NAME=VALUE NUL)*  + SCM_RIGHTS stdin, stdout, stderr
 *            flags: "t" when stdin is a terminal to make the controlling terminal, else "-"
 *   replies  "P<pid>" once started, "F<message>" when it could not start, "E<wait status>" at exit
 *   request  "K<signal>"  signal the command, its process group and every descendant
 * One command per connection. A command keeps running when the server hangs up.
 *
 * As pid 1 of the pid namespace it also reaps orphans, and the kernel never delivers a signal
 * sent from inside the namespace to it (it installs no handler), so sandbox processes cannot kill
 * it; it is not dumpable, so they cannot ptrace it either. When it exits the namespace dies.
 *
 * argv: chasm-agent NOFILE FSIZE_BYTES CPU_SECONDS   (0: no limit) -- applied to every command.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_REQUEST (1 << 20)
#define NAME "chasm-agent"

struct conn {
    int fd;      /* -1: free slot */
    pid_t child; /* 0: none started yet */
};

static struct conn conns[MAX_CONNS];
static char request[MAX_REQUEST + 1];
static rlim_t nofile, fsize, cpu;
static sigset_t blocked;

static void reply(int fd, char kind, const char *text) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%c%s", kind, text);
    (void)send(fd, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void drop(struct conn *c) {
    close(c->fd);
    c->fd = -1;
    c->child = 0;
}

static void signal_tree(pid_t pid, int sig) {
    /* The command, its process group, then every descendant found in /proc (depth first). */
    pid_t stack[4096];
    int top = 0;
    kill(-pid, sig);
    stack[top++] = pid;
    while (top > 0) {
        pid_t cur = stack[--top];
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", cur);
        DIR *tasks = opendir(path);
        if (tasks == NULL)
            continue;
        struct dirent *task;
        while ((task = readdir(tasks)) != NULL) {
            if (task->d_name[0] == '.')
                continue;
            char children[320];
            snprintf(children, sizeof children, "/proc/%d/task/%s/children", cur, task->d_name);
            FILE *f = fopen(children, "re");
            if (f == NULL)
                continue;
            int child;
            while (fscanf(f, "%d", &child) == 1)
                if (top < (int)(sizeof stack / sizeof stack[0]))
                    stack[top++] = child;
            fclose(f);
        }
        closedir(tasks);
        kill(cur, sig);
    }
}

static void limit(int resource, rlim_t value) {
    if (value > 0) {
        struct rlimit rl = {value, value};
        setrlimit(resource, &rl);
    }
}

static void child_exec(char *cwd, char *command, char **env, int fds[3], int terminal) {
    setsid();
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            _exit(125);
    if (terminal)
        ioctl(0, TIOCSCTTY, 0);
    syscall(SYS_close_range, 3, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_UNBLOCK, &blocked, NULL);
    limit(RLIMIT_NOFILE, nofile);
    limit(RLIMIT_FSIZE, fsize);
    limit(RLIMIT_CPU, cpu);
    if (chdir(cwd) != 0) {
        dprintf(2, "chasm: cannot change directory to %s: %s\n", cwd, strerror(errno));
        _exit(1);
    }
    char *argv[] = {"sh", "-c", command, NULL};
    execve("/bin/sh", argv, env);
    dprintf(2, "chasm: cannot run /bin/sh: %s\n", strerror(errno));
    _exit(127);
}

static void start(struct conn *c, ssize_t len, int *fds, int nfds) {
    /* request: "X" flag NUL cwd NUL command NUL env... (every field NUL-terminated) */
    char *fields[4096 + 4];
    int count = 0;
    char *p = request + 1, *end = request + len;
    if (len < 2 || end[-1] != '\0' || nfds != 3) {
        reply(c->fd, 'F', "malformed request");
        return;
    }
    while (p < end && count < (int)(sizeof fields / sizeof fields[0]) - 1) {
        fields[count++] = p;
        p += strlen(p) + 1;
    }
    if (count < 3 || p < end) {
        reply(c->fd, 'F', "malformed request");
        return;
    }
    fields[count] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        reply(c->fd, 'F', strerror(errno));
        return;
    }
    if (pid == 0)
        child_exec(fields[1], fields[2], fields + 3, fds, fields[0][0] == 't');
    char text[32];
    snprintf(text, sizeof text, "%d", pid);
    c->child = pid;
    reply(c->fd, 'P', text);
}

static void receive(struct conn *c) {
    char control[CMSG_SPACE(sizeof(int) * 8)];
    struct iovec iov = {request, MAX_REQUEST};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    ssize_t len = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (len < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    int fds[8], nfds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n && nfds < 8; i++)
                memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
        }
    }
    if (len <= 0) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        drop(c); /* hung up: a started command keeps running; its exit is reaped unreported */
        return;
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        reply(c->fd, 'F', "request too large");
    } else if (request[0] == 'X' && c->child == 0) {
        start(c, len, fds, nfds);
    } else if (request[0] == 'K' && c->child > 0) {
        request[len] = '\0';
        int sig = atoi(request + 1);
        if (sig > 0 && sig < NSIG)
            signal_tree(c->child, sig);
    } else {
        reply(c->fd, 'F', "unexpected request");
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
}

static void reap(void) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd >= 0 && conns[i].child == pid) {
                char text[32];
                snprintf(text, sizeof text, "%d", status);
                reply(conns[i].fd, 'E', text);
                drop(&conns[i]);
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4)
        return 2;
    nofile = strtoull(argv[1], NULL, 10);
    fsize = strtoull(argv[2], NULL, 10);
    cpu = strtoull(argv[3], NULL, 10);
    syscall(SYS_close_range, 3, ~0U, 0); /* the binary's own fd and anything bwrap left open */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_NAME, NAME, 0, 0, 0); /* not the descriptor number it was executed from */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    int sigfd = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
    int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path + 1, NAME, sizeof NAME - 1);
    socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + sizeof NAME - 1);
    if (sigfd < 0 || listener < 0 || bind(listener, (struct sockaddr *)&addr, addrlen) != 0 ||
        listen(listener, 128) != 0) {
        dprintf(2, "chasm-agent: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    if (write(1, "ready\n", 6) != 6)
        return 1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3 && null >= 0; i++)
        dup2(null, i);

    struct pollfd polls[MAX_CONNS + 2];
    int slot_of[MAX_CONNS + 2];
    for (;;) {
        int n = 0;
        polls[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        polls[n++] = (struct pollfd){.fd = listener, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd >= 0) {
                slot_of[n] = i;
                polls[n++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
            }
        }
        if (poll(polls, (nfds_t)n, -1) < 0)
            continue;
        if (polls[0].revents) {
            struct signalfd_siginfo info;
            while (read(sigfd, &info, sizeof info) == (ssize_t)sizeof info)
                ;
            reap();
        }
        for (int k = 2; k < n; k++)
            if (polls[k].revents && conns[slot_of[k]].fd == polls[k].fd)
                receive(&conns[slot_of[k]]);
        if (polls[1].revents) {
            int fd;
            while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                int i = 0;
                while (i < MAX_CONNS && conns[i].fd >= 0)
                    i++;
                if (i == MAX_CONNS) {
                    close(fd);
                    continue;
                }
                conns[i] = (struct conn){fd, 0};
            }
        }
        reap(); /* a SIGCHLD may have raced with a fork above */
    }
}
