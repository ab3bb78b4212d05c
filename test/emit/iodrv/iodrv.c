// SPDX-License-Identifier: GPL-2.0
/*
 * iodrv - a platform driver whose register window is sized by its resource
 * at run time, and whose port I/O is on ports it never requests or on a
 * fixed port: register code emit must refuse to move.
 */
#include <linux/io.h>
#include <linux/module.h>
#include <linux/platform_device.h>

struct iod_priv {
	void __iomem *regs;
	unsigned long port;
	u32 last;
};

static u32 iod_read_id(struct iod_priv *priv)
{
	return readl(priv->regs + 0x10);
}

static u8 iod_port_status(struct iod_priv *priv)
{
	return inb(priv->port + 1);
}

static u8 iod_post_code(void)
{
	return inb(0x80);
}

static int iod_probe(struct platform_device *pdev)
{
	struct iod_priv *priv;

	priv = devm_kzalloc(&pdev->dev, sizeof(*priv), GFP_KERNEL);
	if (!priv)
		return -ENOMEM;
	priv->regs = devm_platform_ioremap_resource(pdev, 0);
	if (IS_ERR(priv->regs))
		return PTR_ERR(priv->regs);
	priv->port = 0x3f8;
	priv->last = iod_read_id(priv);
	if (iod_port_status(priv) == 0xff || !iod_post_code())
		return -ENODEV;
	return 0;
}

static struct platform_driver iod_driver = {
	.probe = iod_probe,
	.driver = { .name = "iodrv" },
};
module_platform_driver(iod_driver);

MODULE_LICENSE("GPL");
