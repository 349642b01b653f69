// `cnm-monitor exec-tty`: one exec'd process with a terminal (exec_tty.c).
#ifndef CNM_EXEC_TTY_H
#define CNM_EXEC_TTY_H
int exec_tty_main(int argc, char **argv);
#endif
