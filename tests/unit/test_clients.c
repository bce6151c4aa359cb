/* test_clients.c — per-client limits (src/clients.c): connections per
 * address, the token bucket and its Retry-After, IPv6 /64 keys, and a table
 * that never grows: eviction of idle clients, FULL when all hold
 * connections, a million addresses through a small table. */
#include "clients.h"
#include "harness.h"

#include <stdio.h>

static wsd_client_key key(const char *a)
{
    wsd_client_key k;
    wsd_clients_key(a, &k);
    return k;
}

int main(void)
{
    wsd_clients *t = wsd_clients_new(4, 2, 60, 3);   /* 2 conns, 60/min = 1/s, burst 3 */
    wsd_client_key a = key("192.0.2.1"), b = key("192.0.2.2");
    wsd_client_key v6a = key("2001:db8:1:2::1"), v6b = key("2001:db8:1:2:ffff::9"),
                   v6c = key("2001:db8:1:3::1"), m = key("::ffff:192.0.2.1"),
                   u1 = key("unix-socket"), u2 = key("garbage");
    uint32_t s1, s2, s3, retry;
    int i;

    ok(memcmp(&v6a, &v6b, sizeof v6a) == 0, "IPv6: one /64 is one client");
    ok(memcmp(&v6a, &v6c, sizeof v6a) != 0, "IPv6: another /64 is another");
    ok(memcmp(&a, &m, sizeof a) == 0, "v4-mapped IPv6 is the IPv4 client");
    ok(memcmp(&u1, &u2, sizeof u1) == 0, "non-addresses share one key");

    /* connections */
    is_int(wsd_clients_acquire(t, &a, 0, &s1), WSD_CLIENT_OK, "first connection");
    is_int(wsd_clients_acquire(t, &a, 0, &s2), WSD_CLIENT_OK, "second connection");
    is_int(wsd_clients_acquire(t, &a, 0, &s3), WSD_CLIENT_BUSY, "third: BUSY (maxconn 2)");
    is_int(s3, 0, "  no slot");
    ok(wsd_clients_slot_is(t, s1, &a) && !wsd_clients_slot_is(t, s1, &b), "slot_is");
    is_int(wsd_clients_conns(t), 2, "two counted");
    wsd_clients_release(t, s1);
    is_int(wsd_clients_acquire(t, &a, 0, &s3), WSD_CLIENT_OK, "after a release: OK");
    wsd_clients_release(t, s2);
    wsd_clients_release(t, s3);
    wsd_clients_release(t, 0);
    is_int(wsd_clients_conns(t), 0, "none counted");

    /* the bucket: burst 3, one a second */
    for (i = 0; i < 3; i++)
        is_int(wsd_clients_rate(t, &b, 1000, 1, &retry), WSD_CLIENT_OK, "burst token %d", i + 1);
    is_int(wsd_clients_rate(t, &b, 1000, 0, &retry), WSD_CLIENT_RATE, "empty: RATE");
    is_int(retry, 1, "  Retry-After 1 s");
    is_int(wsd_clients_rate(t, &b, 1500, 1, &retry), WSD_CLIENT_RATE, "half a token later: RATE");
    is_int(wsd_clients_rate(t, &b, 2000, 0, &retry), WSD_CLIENT_OK, "a second later: one token (check only)");
    is_int(wsd_clients_rate(t, &b, 2000, 1, &retry), WSD_CLIENT_OK, "  taken");
    is_int(wsd_clients_rate(t, &b, 2000, 1, &retry), WSD_CLIENT_RATE, "  and gone");
    is_int(wsd_clients_rate(t, &b, 1000000, 1, &retry), WSD_CLIENT_OK, "long after: refilled");
    is_int(wsd_clients_rate(t, &b, 1000000, 1, &retry), WSD_CLIENT_OK, "  up to the burst");
    is_int(wsd_clients_rate(t, &b, 1000000, 1, &retry), WSD_CLIENT_OK, "  (3)");
    is_int(wsd_clients_rate(t, &b, 1000000, 1, &retry), WSD_CLIENT_RATE, "  not more");
    is_int(wsd_clients_rate(t, &b, 999000, 1, &retry), WSD_CLIENT_RATE, "a clock going back changes nothing");
    wsd_clients_free(t);

    t = wsd_clients_new(8, 0, 1, 1);     /* one a minute */
    is_int(wsd_clients_rate(t, &a, 0, 1, &retry), WSD_CLIENT_OK, "1/min: first");
    is_int(wsd_clients_rate(t, &a, 0, 1, &retry), WSD_CLIENT_RATE, "1/min: second refused");
    is_int(retry, 60, "  Retry-After 60 s");
    is_int(wsd_clients_rate(t, &a, 30000, 1, &retry), WSD_CLIENT_RATE, "after 30 s still");
    is_int(retry, 30, "  Retry-After 30 s");
    wsd_clients_free(t);

    /* a table of 4: idle clients are evicted, connected ones are not */
    t = wsd_clients_new(4, 0, 60, 1);
    {
        wsd_client_key k[6];
        uint32_t slot[6];
        char ip[32];
        for (i = 0; i < 6; i++) {
            snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
            k[i] = key(ip);
        }
        for (i = 0; i < 4; i++)
            is_int(wsd_clients_acquire(t, &k[i], 0, &slot[i]), WSD_CLIENT_OK, "client %d connects", i);
        is_int(wsd_clients_acquire(t, &k[4], 0, &slot[4]), WSD_CLIENT_FULL, "a fifth: FULL");
        is_int(wsd_clients_rate(t, &k[4], 0, 1, &retry), WSD_CLIENT_FULL, "  also for the rate");
        wsd_clients_release(t, slot[1]);
        is_int(wsd_clients_rate(t, &k[1], 0, 1, &retry), WSD_CLIENT_OK, "client 1 spends its token");
        is_int(wsd_clients_acquire(t, &k[4], 0, &slot[4]), WSD_CLIENT_OK, "client 4 takes idle 1's place");
        is_int(wsd_clients_used(t), 4, "still 4 entries");
        is_int(wsd_clients_rate(t, &k[1], 0, 1, &retry), WSD_CLIENT_FULL, "client 1 is forgotten; no room now");
        ok(wsd_clients_slot_is(t, slot[4], &k[4]), "client 4's slot");
        wsd_clients_release(t, slot[0]);
        wsd_clients_release(t, slot[2]);
        is_int(wsd_clients_rate(t, &k[0], 0, 1, &retry), WSD_CLIENT_OK, "client 0 seen again (most recent)");
        is_int(wsd_clients_acquire(t, &k[5], 0, &slot[5]), WSD_CLIENT_OK, "client 5 evicts the least recent idle (2)");
        is_int(wsd_clients_rate(t, &k[0], 0, 1, &retry), WSD_CLIENT_RATE, "client 0 kept its empty bucket");
    }
    wsd_clients_free(t);

    /* a million addresses through 1024 entries */
    t = wsd_clients_new(1024, 5, 6, 2);
    {
        uint32_t s;
        int bad = 0;
        for (i = 0; i < 1000000; i++) {
            wsd_client_key k;
            memset(&k, 0, sizeof k);
            k.a[10] = k.a[11] = 0xff;
            memcpy(k.a + 12, &i, 4);
            if (wsd_clients_rate(t, &k, (uint64_t)i, 1, &retry) != WSD_CLIENT_OK)
                bad++;
            if (i % 1000 == 0) {
                if (wsd_clients_acquire(t, &k, (uint64_t)i, &s) != WSD_CLIENT_OK)
                    bad++;
            }
        }
        is_int(bad, 0, "a million new clients, each with a fresh bucket");
        is_int(wsd_clients_used(t), 1024, "the table never grew past 1024");
        is_int(wsd_clients_conns(t), 1000, "1000 connections counted, none evicted");
    }
    wsd_clients_free(t);
    return done_testing();
}
