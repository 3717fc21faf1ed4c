"""The starter catalog a new shop opens with (idempotent: existing SKUs are left alone)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import InventoryMovement, Product
from shop.services.catalog import slugify

# (sku, name, category, price, stock, description)
CATALOG: tuple[tuple[str, str, str, str, int, str], ...] = (
    (
        "EL-1001",
        "Aurora Wireless Headphones",
        "Electronics",
        "129.00",
        40,
        "Over-ear Bluetooth 5.3 headphones with active noise cancelling and 35-hour battery.",
    ),
    (
        "EL-1002",
        "Pulse Smartwatch S2",
        "Electronics",
        "199.99",
        25,
        "Aluminium smartwatch with heart-rate, GPS and sleep tracking; water resistant to 50 m.",
    ),
    (
        "EL-1003",
        "Nimbus 10,000 mAh Power Bank",
        "Electronics",
        "34.50",
        120,
        "Slim USB-C power bank with 20 W fast charge; charges a phone about twice.",
    ),
    (
        "EL-1004",
        "Echo Mini Bluetooth Speaker",
        "Electronics",
        "49.95",
        60,
        "Palm-sized speaker with rich bass, IPX7 splash proofing and 12 hours of play.",
    ),
    (
        "HK-2001",
        "Cast Iron Skillet 26 cm",
        "Home & Kitchen",
        "39.90",
        45,
        "Pre-seasoned cast iron pan for searing, baking and open fire; lasts a lifetime.",
    ),
    (
        "HK-2002",
        "Pour-Over Coffee Set",
        "Home & Kitchen",
        "27.00",
        70,
        "Ceramic dripper, glass carafe and 100 filters for a clean, bright cup.",
    ),
    (
        "HK-2003",
        "Bamboo Cutting Board Trio",
        "Home & Kitchen",
        "24.99",
        90,
        "Three sizes of sustainably grown bamboo boards with juice grooves.",
    ),
    (
        "HK-2004",
        "Linen Table Runner",
        "Home & Kitchen",
        "19.50",
        55,
        "Stone-washed European linen runner, 40 x 180 cm, in natural oat.",
    ),
    (
        "AP-3001",
        "Merino Crew Sweater",
        "Apparel",
        "89.00",
        35,
        "Fine-gauge merino wool sweater that breathes, resists odour and never itches.",
    ),
    (
        "AP-3002",
        "Everyday Canvas Sneakers",
        "Apparel",
        "59.00",
        80,
        "Vulcanised rubber sole and organic cotton canvas upper; true to size.",
    ),
    (
        "AP-3003",
        "Packable Rain Jacket",
        "Apparel",
        "74.90",
        30,
        "Waterproof, breathable shell that folds into its own pocket.",
    ),
    (
        "AP-3004",
        "Organic Cotton Tee",
        "Apparel",
        "22.00",
        150,
        "Heavyweight 220 g organic cotton t-shirt with a relaxed fit.",
    ),
    (
        "SO-4001",
        "Trail Running Backpack 12 L",
        "Sports & Outdoors",
        "64.00",
        28,
        "Lightweight vest-style pack with two soft flasks and a rain cover.",
    ),
    (
        "SO-4002",
        "Non-Slip Yoga Mat",
        "Sports & Outdoors",
        "42.00",
        65,
        "6 mm natural rubber mat with alignment lines and a carrying strap.",
    ),
    (
        "SO-4003",
        "Insulated Steel Water Bottle",
        "Sports & Outdoors",
        "25.00",
        140,
        "Double-walled 750 ml bottle: cold for 24 hours, hot for 12.",
    ),
    (
        "SO-4004",
        "Two-Person Dome Tent",
        "Sports & Outdoors",
        "149.00",
        12,
        "Freestanding three-season tent, 2.1 kg, pitches in five minutes.",
    ),
    (
        "BK-5001",
        "The Pragmatic Kitchen",
        "Books",
        "28.00",
        50,
        "A cookbook of 120 weeknight recipes built from a short list of pantry staples.",
    ),
    (
        "BK-5002",
        "Field Guide to Night Skies",
        "Books",
        "18.95",
        40,
        "Star charts and seasonal sky tours for naked-eye and binocular observers.",
    ),
    (
        "BK-5003",
        "Small Data, Big Decisions",
        "Books",
        "32.50",
        35,
        "How small businesses can use their own sales data to forecast and price.",
    ),
    (
        "BK-5004",
        "Illustrated Atlas of Trees",
        "Books",
        "45.00",
        20,
        "Hardcover atlas of 300 tree species with botanical illustrations and range maps.",
    ),
)


def seed_catalog(session: Session) -> int:
    """Insert the starter products that are not there yet; how many were added."""
    existing = set(session.scalars(select(Product.sku)))
    added = 0
    for sku, name, category, price, stock, description in CATALOG:
        if sku in existing:
            continue
        product = Product(
            sku=sku,
            name=name,
            category=category,
            category_slug=slugify(category),
            price=Decimal(price),
            stock=stock,
            description=description,
            image_url=None,
        )
        session.add(product)
        session.flush()
        session.add(
            InventoryMovement(
                product_id=product.id, delta=stock, stock_after=stock, reason="seed catalog"
            )
        )
        added += 1
    session.commit()
    return added
