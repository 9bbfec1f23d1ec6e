/* chasm-agent: pid 1 of a bubblewrap sandbox; forks the commands the server asks for.
 *
 * It runs inside the sandbox exactly like any command: as the sandbox uid, with every
 * capability dropped, no_new_privs, in the session's cgroups. It never gains anything: a request
 * only makes it fork `/bin/sh -c COMMAND` as itself, which the sandbox user can do anyway.
 *
 * Protocol (see agent.py): the server connects to the abstract unix socket "chasm-agent" of the
 * sandbox's network namespace (SOCK_SEQPACKET: one message per request or reply).
 *   request  "X" flags NUL cwd NUL command NUL (NAME=VALUE NUL)*  + SCM_RIGHTS stdin, stdout, stderr
 *            flags: "t" when stdin is a terminal to make the controlling terminal, else "-";
 *            "l<cap>" for a logged command: SCM_RIGHTS stdin, log (see below)
 *   replies  "P<pid>" once started, "F<message>" when it could not start, "E<wait status>" at exit,
 *            "O" (logged commands, best effort) when output was appended to the log
 *   request  "K<signal>"  signal the command, its process group and every descendant
 *   request  "A<pid>"  attach this connection to a logged command still running (after the
 *            server restarted): "P<pid>", or "F" when there is none
 * One command per connection. A command keeps running when the server hangs up.
 *
 * A logged command's stdout and stderr are pipes to the agent, which appends what it reads to the
 * log (a file the server opened on the host and handed over, so it outlives the server) as frames
 * [kind u8][length u32 LE][data]: 'o' stdout, 'e' stderr (each ending on a UTF-8 character
 * boundary), 't' once when the log reached its cap of <cap> data bytes (the rest is read and
 * dropped), and last 'x' with the wait status in decimal. The agent writes the exit frame itself,
 * connected or not, so a restarted server finds every outcome.
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
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_LOGGED 256
#define MAX_REQUEST (1 << 20)
#define NAME "chasm-agent"

struct conn {
    int fd;      /* -1: free slot */
    pid_t child; /* 0: none started yet */
};

struct logged {
    pid_t pid;                    /* 0: free slot */
    int out[2];                   /* read ends of stdout, stderr; -1 once closed */
    int log;                      /* the host's log file (O_APPEND) */
    int conn;                     /* connection to notify, -1 when none */
    unsigned long long cap, written;
    int truncated;
    unsigned char pend[2][4];     /* a UTF-8 sequence split by a read, per stream */
    int npend[2];
};

static struct conn conns[MAX_CONNS];
static struct logged logs[MAX_LOGGED];
static char request[MAX_REQUEST + 1];
static rlim_t nofile, fsize, cpu;
static sigset_t blocked;

static void reply(int fd, char kind, const char *text) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%c%s", kind, text);
    (void)send(fd, buf, (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void drop(struct conn *c) {
    for (int i = 0; i < MAX_LOGGED; i++)
        if (logs[i].pid && logs[i].conn == c->fd)
            logs[i].conn = -1;
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

static size_t utf8_cut(const unsigned char *data, size_t len) {
    /* Length of the longest prefix of data that does not end inside a UTF-8 sequence
     * (cmdlog.py utf8_cut). */
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        unsigned char byte = data[len - back];
        if ((byte & 0xC0) == 0x80)
            continue;
        if ((byte & 0x80) == 0)
            return len;
        size_t need = (byte & 0xE0) == 0xC0 ? 2 : (byte & 0xF0) == 0xE0 ? 3 : (byte & 0xF8) == 0xF0 ? 4 : 1;
        return back >= need ? len : len - back;
    }
    return len;
}

static void frame(struct logged *l, char kind, const void *data, size_t len) {
    unsigned char head[5] = {(unsigned char)kind, (unsigned char)(len & 0xff), (unsigned char)((len >> 8) & 0xff),
                             (unsigned char)((len >> 16) & 0xff), (unsigned char)((len >> 24) & 0xff)};
    struct iovec iov[2] = {{head, 5}, {(void *)data, len}};
    (void)writev(l->log, iov, len ? 2 : 1); /* O_APPEND: one frame lands whole or not at all */
}

static void log_data(struct logged *l, int stream, const unsigned char *data, size_t len) {
    if (len == 0 || l->truncated)
        return;
    unsigned long long room = l->cap - l->written;
    if (len > room) {
        len = utf8_cut(data, (size_t)room);
        if (len)
            frame(l, stream ? 'e' : 'o', data, len);
        l->written += len;
        frame(l, 't', NULL, 0);
        l->truncated = 1;
        return;
    }
    frame(l, stream ? 'e' : 'o', data, len);
    l->written += len;
}

static int pump(struct logged *l, int stream) {
    /* Read what the stream has now into the log: 2 when it read some, 1 when there was nothing
     * to read, 0 once it is closed. */
    static unsigned char buf[65536 + 4];
    int n = l->npend[stream];
    memcpy(buf, l->pend[stream], (size_t)n);
    ssize_t got = read(l->out[stream], buf + n, 65536);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    if (got <= 0) {
        log_data(l, stream, buf, (size_t)n);
        l->npend[stream] = 0;
        close(l->out[stream]);
        l->out[stream] = -1;
        return 0;
    }
    size_t total = (size_t)n + (size_t)got, cut = utf8_cut(buf, total);
    l->npend[stream] = (int)(total - cut);
    memcpy(l->pend[stream], buf + cut, total - cut);
    log_data(l, stream, buf, cut);
    if (l->conn >= 0 && cut)
        (void)send(l->conn, "O", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    return 2;
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
    int logged = len > 1 && request[1] == 'l';
    if (len < 2 || end[-1] != '\0' || nfds != (logged ? 2 : 3)) {
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
    struct logged *l = NULL;
    int pipes[2][2] = {{-1, -1}, {-1, -1}};
    int child_fds[3] = {fds[0], fds[1], nfds > 2 ? fds[2] : -1};
    if (logged) {
        for (int i = 0; i < MAX_LOGGED && l == NULL; i++)
            if (logs[i].pid == 0)
                l = &logs[i];
        if (l == NULL || pipe2(pipes[0], O_CLOEXEC) != 0 || pipe2(pipes[1], O_CLOEXEC) != 0) {
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    if (pipes[i][j] >= 0)
                        close(pipes[i][j]);
            reply(c->fd, 'F', l == NULL ? "too many logged commands" : strerror(errno));
            return;
        }
        child_fds[1] = pipes[0][1];
        child_fds[2] = pipes[1][1];
    }
    pid_t pid = fork();
    if (pid < 0) {
        reply(c->fd, 'F', strerror(errno));
        return;
    }
    if (pid == 0)
        child_exec(fields[1], fields[2], fields + 3, child_fds, fields[0][0] == 't');
    if (logged) {
        close(pipes[0][1]);
        close(pipes[1][1]);
        *l = (struct logged){.pid = pid, .out = {pipes[0][0], pipes[1][0]}, .log = dup(fds[1]), .conn = c->fd,
                             .cap = strtoull(fields[0] + 1, NULL, 10)};
        fcntl(l->out[0], F_SETFL, O_NONBLOCK);
        fcntl(l->out[1], F_SETFL, O_NONBLOCK);
        fcntl(l->log, F_SETFD, FD_CLOEXEC);
    }
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
    } else if (request[0] == 'A' && c->child == 0) {
        request[len] = '\0';
        pid_t pid = (pid_t)atoi(request + 1);
        struct logged *l = NULL;
        for (int i = 0; i < MAX_LOGGED && l == NULL; i++)
            if (pid > 0 && logs[i].pid == pid && logs[i].conn < 0)
                l = &logs[i];
        if (l == NULL) {
            reply(c->fd, 'F', "no such command");
        } else {
            c->child = pid;
            l->conn = c->fd;
            reply(c->fd, 'P', request + 1);
        }
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
        for (int i = 0; i < MAX_LOGGED; i++) {
            struct logged *l = &logs[i];
            if (l->pid != pid)
                continue;
            /* What it wrote before exiting is in the pipes; a descendant still holding them
             * does not keep the command's log open. */
            for (int s = 0; s < 2; s++) {
                while (l->out[s] >= 0 && pump(l, s) == 2)
                    ;
                if (l->out[s] >= 0) {
                    log_data(l, s, l->pend[s], (size_t)l->npend[s]);
                    close(l->out[s]);
                }
            }
            char text[32];
            int n = snprintf(text, sizeof text, "%d", status);
            frame(l, 'x', text, (size_t)n);
            close(l->log);
            *l = (struct logged){0};
        }
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

    struct pollfd polls[MAX_CONNS + 2 + 2 * MAX_LOGGED];
    int slot_of[MAX_CONNS + 2 + 2 * MAX_LOGGED];
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
        int first_log = n;
        for (int i = 0; i < MAX_LOGGED; i++) {
            for (int s = 0; s < 2; s++) {
                if (logs[i].pid && logs[i].out[s] >= 0) {
                    slot_of[n] = i * 2 + s;
                    polls[n++] = (struct pollfd){.fd = logs[i].out[s], .events = POLLIN};
                }
            }
        }
        if (poll(polls, (nfds_t)n, -1) < 0)
            continue;
        for (int k = first_log; k < n; k++) {
            struct logged *l = &logs[slot_of[k] / 2];
            int s = slot_of[k] % 2;
            if (polls[k].revents && l->out[s] == polls[k].fd)
                pump(l, s);
        }
        if (polls[0].revents) {
            struct signalfd_siginfo info;
            while (read(sigfd, &info, sizeof info) == (ssize_t)sizeof info)
                ;
            reap();
        }
        for (int k = 2; k < first_log; k++)
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
