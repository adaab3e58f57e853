package dev.latchkey.toolkit.jpa;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/** The entity the JPA tests share: stock with a {@code @Version}, a fence column and a claim owner. */
@Entity
@Table(name = "jpa_item")
public class Item {

    @Id
    private Long id;

    private String name;

    private int stock;

    @Version
    private long version;

    private Long fence;

    @Column(name = "claimed_by")
    private String claimedBy;

    protected Item() {
    }

    public Item(long id, String name, int stock) {
        this.id = id;
        this.name = name;
        this.stock = stock;
    }

    public Long getId() {
        return id;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public int getStock() {
        return stock;
    }

    public void setStock(int stock) {
        this.stock = stock;
    }

    public long getVersion() {
        return version;
    }

    public Long getFence() {
        return fence;
    }

    public String getClaimedBy() {
        return claimedBy;
    }

    public void setClaimedBy(String claimedBy) {
        this.claimedBy = claimedBy;
    }
}
