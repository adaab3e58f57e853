package dev.latchkey.shop.jpa;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** An order line as a JPA entity. */
@Entity
@Table(name = "shop_order")
public class ShopOrder {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    @Column(name = "item_id")
    private long itemId;

    private int quantity;

    private String strategy;

    private String buyer;

    @Column(name = "fence_token")
    private Long fenceToken;

    @Column(name = "created_at")
    private Instant createdAt;

    protected ShopOrder() {
    }

    public ShopOrder(long itemId, String strategy, String buyer, Long fenceToken) {
        this.itemId = itemId;
        this.quantity = 1;
        this.strategy = strategy;
        this.buyer = buyer;
        this.fenceToken = fenceToken;
        this.createdAt = Instant.now();
    }
}
