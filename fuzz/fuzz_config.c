/* fuzz_config.c — libFuzzer harness for the command line (src/config.c).
 * The input, split at NUL bytes, is argv[1..]; wsd_config_parse must never
 * crash or leak, whatever it returns. Build line: fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    char *buf, *argv[MAX_ARGS + 2];
    int argc = 0;
    size_t i, start = 0;
    wsd_config c;

    if (!devnull)
        devnull = fopen("/dev/null", "w");
    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[argc++] = (char *)"wsd";
    for (i = 0; i <= size && argc <= MAX_ARGS; i++) {
        if (i == size || buf[i] == '\0') {
            if (i < size || start < size)
                argv[argc++] = buf + start;
            start = i + 1;
        }
    }
    argv[argc] = NULL;

    wsd_config_parse(&c, argc, argv, devnull, devnull);
    wsd_config_free(&c);
    free(buf);
    return 0;
}
