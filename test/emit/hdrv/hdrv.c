// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/* A kernel object passed to user space as an opaque handle and back to the kernel. */
#include <linux/module.h>
#include <linux/slab.h>

struct hd_priv {
	u32 reg;
	struct hd_priv *self;
};

static struct hd_priv *hd;

static u32 hd_read(struct hd_priv *priv, u32 off)
{
	return priv->reg + off;
}

static u32 hd_probe_sum(struct hd_priv *priv, unsigned int n)
{
	unsigned int i;
	u32 s = 0;

	for (i = 0; i < n; i++)
		s += hd_read(priv, i);
	return s;
}

static int __init hd_init(void)
{
	hd = kzalloc(sizeof(*hd), GFP_KERNEL);
	if (!hd)
		return -ENOMEM;
	hd->reg = 7;
	pr_info("sum %u\n", hd_probe_sum(hd, 3));
	return 0;
}

static void __exit hd_exit(void)
{
	kfree(hd);
}

module_init(hd_init);
module_exit(hd_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("opaque handle test driver");
