#include <stdio.h>

int main(void)
{
    printf("hello from a file served by step06\n");
    return 0;
}
