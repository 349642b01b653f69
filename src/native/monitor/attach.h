// The monitor's attach socket (attach.c): the protocol is described there.
#ifndef CNM_ATTACH_H
#define CNM_ATTACH_H
#include <poll.h>
#include <stddef.h>

// Serves the socket at path. in_fd is where attachers' input goes (the pty
// master or the write end of the container's stdin pipe; -1: none).
int attach_listen(const char *path, int tty, int in_fd, int stdin_once);

// Adds the descriptors to poll (at most max); returns how many were added.
int attach_pollfds(struct pollfd *p, int max);

// Handles what poll reported for the descriptors attach_pollfds added.
void attach_handle(const struct pollfd *p, int n);

// Output of the container (stream 1 stdout, 2 stderr) to every attacher.
void attach_output(int stream, const char *data, size_t n);

// Whether a client has attached with "replay" (it got the output since the start).
int attach_replayed(void);

// The container ended: every attacher sees its connection end.
void attach_close(void);

#endif
