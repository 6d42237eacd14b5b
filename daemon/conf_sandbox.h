/*
 * conf_sandbox.h -- a service's sandbox options (see sandbox.h), spliced
 * into the service schema after the other options, like the limits.
 */
#ifndef PORTERD_CONF_SANDBOX_H
#define PORTERD_CONF_SANDBOX_H

#include <confuse.h>

/* landlock { read = {paths} write = {paths} exec = {paths} } */
extern cfg_opt_t conf_sandbox_landlock_opts[];

#define CONF_SANDBOX_OPTS \
	CFG_STR("rlimit-cpu", NULL, CFGF_NODEFAULT), \
	CFG_STR("rlimit-as", NULL, CFGF_NODEFAULT), \
	CFG_STR("rlimit-nofile", NULL, CFGF_NODEFAULT), \
	CFG_STR("rlimit-nproc", NULL, CFGF_NODEFAULT), \
	CFG_STR("rlimit-fsize", NULL, CFGF_NODEFAULT), \
	CFG_STR("rlimit-core", NULL, CFGF_NODEFAULT), \
	CFG_INT("nice", 0, CFGF_NODEFAULT), \
	CFG_STR("umask", NULL, CFGF_NODEFAULT), \
	CFG_STR("chroot", NULL, CFGF_NODEFAULT), \
	CFG_STR("working-directory", NULL, CFGF_NODEFAULT), \
	CFG_BOOL("no-new-privileges", cfg_false, CFGF_NODEFAULT), \
	CFG_SEC("landlock", conf_sandbox_landlock_opts, CFGF_NODEFAULT), \
	CFG_BOOL("landlock-required", cfg_false, CFGF_NODEFAULT), \
	CFG_STR("seccomp", NULL, CFGF_NODEFAULT), \
	CFG_STR_LIST("syscall-deny", NULL, CFGF_NODEFAULT), \
	CFG_STR("seccomp-action", NULL, CFGF_NODEFAULT), \
	CFG_BOOL("private-tmp", cfg_false, CFGF_NODEFAULT), \
	CFG_STR("network", NULL, CFGF_NODEFAULT)

/* In CONF_SANDBOX_OPTS order: line slot SVC_SANDBOX + SB_OPT_x. */
enum conf_sb_opt {
	SB_OPT_RLIMIT_CPU,	/* the six rlimits in enum sandbox_rlimit order */
	SB_OPT_NICE = SB_OPT_RLIMIT_CPU + 6,
	SB_OPT_UMASK,
	SB_OPT_CHROOT,
	SB_OPT_WORKDIR,
	SB_OPT_NNP,
	SB_OPT_LANDLOCK,
	SB_OPT_LL_REQUIRED,
	SB_OPT_SECCOMP,
	SB_OPT_SYSCALL_DENY,
	SB_OPT_SECCOMP_ACTION,
	SB_OPT_PRIVATE_TMP,
	SB_OPT_NETWORK,
	SB_NOPTS
};

#endif
