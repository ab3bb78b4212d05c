// SPDX-License-Identifier: GPL-2.0
/*
 * Shared data emit must refuse to guard, one case per global: each test
 * moves the function named beside it to user space.
 */
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

/* Counted by the interrupt handler; sd_irq_reset moves. */
static unsigned long irq_count;
/* Writable through sysfs; sd_set_level moves. */
static int level = 1;
module_param(level, int, 0644);
/* Read-only: can be shared; sd_quiet_get moves. */
static int quiet;
module_param(quiet, int, 0444);
/* Counted by a function returning unsigned; sd_hits_clear moves. */
static unsigned int hits;
/* Added to by a kernel function the moved sd_add_twice calls. */
static long total;

static irqreturn_t sd_irq(int irq, void *data)
{
	irq_count++;
	return IRQ_HANDLED;
}

static long sd_irq_reset(void)
{
	long n = irq_count;

	irq_count = 0;
	return n;
}

static long sd_set_level(long v)
{
	if (v < 0)
		return -EINVAL;
	level = v;
	return 0;
}

static long sd_quiet_get(void)
{
	return quiet;
}

static unsigned int sd_hit(void)
{
	return ++hits;
}

static long sd_hits_clear(void)
{
	hits = 0;
	return 0;
}

static void sd_add(long n)
{
	total += n;
}

static long sd_add_twice(long n)
{
	sd_add(n);
	sd_add(n);
	return total;
}

static long sd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case 0:
		return sd_irq_reset();
	case 1:
		return sd_set_level(arg);
	case 2:
		return sd_hit();
	case 3:
		return sd_hits_clear();
	case 4:
		return sd_add_twice(arg);
	case 5:
		return sd_quiet_get();
	default:
		return level + quiet;
	}
}

static const struct file_operations sd_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sd_ioctl,
};

static struct miscdevice sd_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "sdrv",
	.fops = &sd_fops,
};

static int __init sd_init(void)
{
	int ret = request_irq(7, sd_irq, 0, "sdrv", NULL);

	if (ret)
		return ret;
	ret = misc_register(&sd_misc);
	if (ret)
		free_irq(7, NULL);
	return ret;
}

static void __exit sd_exit(void)
{
	misc_deregister(&sd_misc);
	free_irq(7, NULL);
}

module_init(sd_init);
module_exit(sd_exit);
MODULE_LICENSE("GPL");
