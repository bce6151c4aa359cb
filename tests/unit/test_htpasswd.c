/* test_htpasswd.c — htpasswd files (src/htpasswd.c): the hashes Apache's
 * htpasswd 2.4 writes (-B bcrypt, -5 SHA-512, -2 SHA-256, with costs and
 * rounds), verified with libxcrypt; the refused ones (MD5 $apr1$ and $1$,
 * {SHA}, DES, plain text) with their line; the file fed whole and split at
 * every point. */
#include "htpasswd.h"
#include "harness.h"

#include <stdlib.h>

/* Output of Debian's htpasswd 2.4 (apache2-utils). */
static const char file[] =
    "# test users\n"
    "alice:$2y$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n"
    "bob:$2y$04$0JlyWMs44gZM8E9nOiMIEuuJ.sESma5uApr8RLRTg4ChJEVhYepgC\r\n"
    "\n"
    "carol:$6$.nP0r47J7sqzyzzK$QlmtX4.zRueXxzuHQo4ReRYXTRDu.OaVGMHpOfTu4gNk3SyPWFHXRBeJQsfMIgpvv2phCWGm8Z5gTnKelV0sh1\n"
    "dave:$5$DH7AwolZC0Bq5vRt$MIxXmcgcogqy1M7L6NNztnG/RZc5oiu.J4DS5DOUd64\n"
    "erin:$6$rounds=10000$kM/aVKgfUxPUpFa2$eIDgFT3v6DZevFVncFWKrkaEEYZt1EW7ylYoGWllRj/rpgMRetblf/WpMEqbpbmuCPo5EzAa.0woX5jCrdG0a.";

static wsd_htpasswd *parse_split(const char *s, size_t n, size_t cut, char *err, size_t cap)
{
    wsd_htpasswd_parser *p = wsd_htpasswd_parser_new();
    wsd_htpasswd_feed(p, s, cut);
    wsd_htpasswd_feed(p, s + cut, n - cut);
    return wsd_htpasswd_finish(p, err, cap);
}

static wsd_htpasswd *parse(const char *s, char *err, size_t cap)
{
    return parse_split(s, strlen(s), strlen(s), err, cap);
}

static void check(const wsd_htpasswd *h, const char *user, const char *pass, int want)
{
    const char *hash = wsd_htpasswd_lookup(h, user, strlen(user));
    ok(hash != NULL, "user %s is in the file", user);
    is_int(wsd_htpasswd_verify(hash, pass, strlen(pass)), want, "%s / '%s' %s", user, pass,
           want ? "matches" : "does not match");
}

static void refused(const char *text, const char *want_err_part)
{
    char err[256] = "";
    wsd_htpasswd *h = parse(text, err, sizeof err);
    ok(!h && strstr(err, want_err_part), "refused with '%s': %s", want_err_part, err);
    wsd_htpasswd_free(h);
}

int main(void)
{
    char err[256];
    wsd_htpasswd *h = parse(file, err, sizeof err);
    size_t k, n = strlen(file);
    int same = 1;

    ok(h != NULL, "the file parses (%s)", h ? "" : err);
    is_int(wsd_htpasswd_count(h), 5, "five users");
    check(h, "alice", "secret one", 1);
    check(h, "alice", "secret on", 0);
    check(h, "alice", "secret one ", 0);
    check(h, "alice", "", 0);
    check(h, "bob", "pw:with:colons", 1);
    check(h, "carol", "sha512 pass", 1);
    check(h, "carol", "sha512 Pass", 0);
    check(h, "dave", "sha256 pass", 1);
    check(h, "dave", "sha256 pas", 0);
    check(h, "erin", "rounds", 1);
    ok(wsd_htpasswd_lookup(h, "mallory", 7) == NULL, "an unknown user has no hash");
    ok(wsd_htpasswd_lookup(h, "alic", 4) == NULL, "a prefix of a user is unknown");
    ok(wsd_htpasswd_lookup(h, "alicee", 6) == NULL, "a longer name is unknown");
    ok(wsd_htpasswd_lookup(h, "alice\0", 6) == NULL, "a name with a NUL is unknown");
    ok(wsd_htpasswd_dummy(h) != NULL, "a dummy hash for unknown users");
    is_int(wsd_htpasswd_verify(NULL, "x", 1), 0, "verify against no hash is 0");
    is_int(wsd_htpasswd_verify(wsd_htpasswd_lookup(h, "alice", 5), "a\0b", 3), 0,
           "a password with a NUL never matches");
    wsd_htpasswd_free(h);

    /* split at every point: the same table */
    for (k = 0; k <= n; k++) {
        wsd_htpasswd *s = parse_split(file, n, k, err, sizeof err);
        const char *a = s ? wsd_htpasswd_lookup(s, "erin", 4) : NULL;
        if (!s || wsd_htpasswd_count(s) != 5 || !a || strncmp(a, "$6$rounds=10000$", 16) != 0)
            same = 0;
        wsd_htpasswd_free(s);
    }
    ok(same, "the file split at each of %zu points gives the same table", n + 1);

    refused("u:$apr1$h1zQhjwa$iJkj/dFjNV3Y0jwHjUJJ..\n", "line 1: user 'u': an MD5 hash ($apr1$");
    refused("a:$2y$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n"
            "u:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n", "line 2: user 'u': a SHA-1 hash");
    refused("u:kFBFvQcY9O106\n", "DES crypt");
    refused("u:pw\n", "plain text");
    refused("u:$1$abcdefgh$abcdefghijklmnopqrstuv\n", "MD5-crypt");
    refused("u:\n", "no hash");
    refused("nocolon\n", "not user:hash");
    refused(":$2y$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n", "user name is empty");
    refused("u:$2y$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/O\n", "malformed bcrypt");
    refused("u:$2y$03$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n", "malformed bcrypt");
    refused("u:$2x$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n", "malformed bcrypt");
    refused("u:$6$salt$short\n", "malformed SHA-512");
    refused("u:$5$salt$short\n", "malformed SHA-256");
    refused("u:$6$rounds=0$kM/aVKgfUxPUpFa2$eIDgFT3v6DZevFVncFWKrkaEEYZt1EW7ylYoGWllRj/rpgMRetblf/"
            "WpMEqbpbmuCPo5EzAa.0woX5jCrdG0a.\n", "malformed SHA-512");
    refused("a:$2y$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n"
            "a:$2y$04$0JlyWMs44gZM8E9nOiMIEuuJ.sESma5uApr8RLRTg4ChJEVhYepgC\n", "appears twice");
    refused("", "no user");
    refused("# only a comment\n\n", "no user");
    refused("u\001:$2y$05$Iesg7636P58XcVmXmdqu9O2EZQW./KkedYSgwzBlDaODb5/Dph/OG\n", "control character");
    {
        char big[3000];
        memset(big, 'a', sizeof big);
        big[sizeof big - 1] = '\0';
        refused(big, "longer than 1024 bytes");
    }
    return done_testing();
}
