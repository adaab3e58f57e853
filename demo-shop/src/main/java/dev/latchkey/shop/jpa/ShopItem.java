package dev.latchkey.shop.jpa;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/** An item of the catalog as a JPA entity (the same table the JDBC checkout uses). */
@Entity
@Table(name = "shop_item")
public class ShopItem {

    @Id
    private Long id;

    private String name;

    @Column(name = "price_cents")
    private long priceCents;

    private long stock;

    @Version
    private long version;

    @Column(name = "fence_token")
    private Long fenceToken;

    protected ShopItem() {
    }

    public Long getId() {
        return id;
    }

    public long getStock() {
        return stock;
    }

    public void takeOne() {
        if (stock <= 0) {
            throw new IllegalStateException("item " + id + " is sold out");
        }
        stock--;
    }
}
